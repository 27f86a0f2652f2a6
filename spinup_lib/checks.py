"""Checking an algorithm's arguments before it starts, one clear line per mistake.

Every algorithm calls :func:`check_arguments` in its first line, before the logger creates a
folder or an environment is built, so a value out of range (``epochs=0``, ``gamma=1.5``,
``batch_size=0``...) stops the run at once with a :class:`~spinup_lib.errors.UserError` that
names the argument and the range it must lie in, whether the call came from Python or from
``python -m spinup_lib.run`` (which runs the same check on every run of a grid before it starts
the first, with ``--`` before the names)::

    from spinup_lib.checks import check_arguments
    check_arguments('ppo', dict(epochs=0))   # UserError: epochs must be an int >= 1, got 0

An argument means the same in every algorithm, so one table holds the rules; the few that
differ by algorithm are in ``_BY_ALGORITHM``.
"""
import math
import numbers

from spinup_lib.errors import UserError

#: The algorithms written to run data-parallel on several MPI processes; the others run on one.
MPI_ALGORITHMS = ("vpg", "trpo", "ppo")

# numpy's generators take seeds up to 2**32 - 1; on-policy process k adds 10000 k and the
# off-policy test env adds 1, so user seeds stop at 2**31 - 1 and leave room for both.
MAX_SEED = 2**31 - 1


class Rule:
    """A test on one value, and the words that describe the values it accepts."""

    def __init__(self, accepts, description):
        self.accepts = accepts
        self.description = description


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def integer(low, high=None):
    """An int in [low, high] (no upper bound when high is None)."""
    if high is None:
        return Rule(lambda v: _is_int(v) and v >= low, f"an int >= {low}")
    return Rule(lambda v: _is_int(v) and low <= v <= high, f"an int from {low} to {high}")


def number(low, high=None, low_open=False, high_open=False):
    """A finite number between low and high, each end included unless said open."""
    def accepts(v):
        if not _is_number(v):
            return False
        above = v > low if low_open else v >= low
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    if high is None:
        words = f"a number {'>' if low_open else '>='} {low}"
    elif not low_open and not high_open:
        words = f"a number from {low} to {high}"
    else:
        words = f"a number with {low} {'<' if low_open else '<='} value {'<' if high_open else '<='} {high}"
    return Rule(accepts, words)


def one_of(*choices):
    shown = [repr(c) for c in choices]
    words = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return Rule(lambda v: v in choices, words)


POSITIVE = number(0, low_open=True)
FRACTION = number(0, 1)

RULES = {
    'seed': integer(0, MAX_SEED),
    'steps_per_epoch': integer(1),
    'epochs': integer(1),
    'save_freq': integer(1),
    'max_ep_len': integer(1),
    'gamma': FRACTION,
    'lam': FRACTION,
    'polyak': FRACTION,
    # learning rates
    'pi_lr': POSITIVE,
    'vf_lr': POSITIVE,
    'q_lr': POSITIVE,
    'lr': POSITIVE,
    # on-policy updates
    'train_pi_iters': integer(1),
    'train_v_iters': integer(1),
    'target_kl': POSITIVE,
    'clip_ratio': POSITIVE,
    'delta': POSITIVE,
    'damping_coeff': number(0),
    'cg_iters': integer(1),
    'backtrack_iters': integer(1),
    'backtrack_coeff': number(0, 1, low_open=True, high_open=True),
    'algo': one_of('trpo', 'npg'),
    # off-policy updates
    'replay_size': integer(1),
    'batch_size': integer(1),
    'start_steps': integer(0),
    'update_after': integer(0),
    'update_every': integer(1),
    'num_test_episodes': integer(0),
    'act_noise': number(0),
    'target_noise': number(0),
    'noise_clip': number(0),
    'policy_delay': integer(1),
    'alpha': number(0),
    'clipped_double_q': Rule(lambda v: isinstance(v, bool), "True or False"),
    # what the call is made of
    'env_fn': Rule(callable, "a function that makes an env, such as spinup_lib.envs.make_env_fn('CartPole-v1')"),
    'actor_critic': Rule(callable, "an actor-critic class, such as spinup_lib.core.MLPActorCritic"),
    'ac_kwargs': Rule(lambda v: isinstance(v, dict), "a dict of the actor-critic's keyword arguments"),
    'logger_kwargs': Rule(lambda v: isinstance(v, dict), "a dict such as dict(output_dir='data/run')"),
    'resume_from': Rule(lambda v: v is None or isinstance(v, dict), "None or a checkpoint (use resume)"),
}

# Where one algorithm allows what the others do not.
_BY_ALGORITHM = {
    # TRPO without value steps keeps V at its initial weights (an exercise compares it);
    # VPG and PPO report the value loss of their last step, so they need at least one.
    ('trpo', 'train_v_iters'): integer(0),
    # DDPG with pi_lr=0 keeps the policy it starts with: its critic then only evaluates that
    # policy, with DDPG's own TD set-up (the control experiment of the DDPG chapter).
    ('ddpg', 'pi_lr'): number(0),
}


def _hidden_sizes_ok(sizes):
    return isinstance(sizes, (list, tuple)) and len(sizes) > 0 and all(_is_int(h) and h > 0 for h in sizes)


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_arguments(algo, arguments, flag_prefix="", num_procs=None):
    """Raise UserError for the first of ``arguments`` that ``algo`` cannot run with.

    Args:
        algo (str): the algorithm's name ('vpg', 'trpo', 'ppo', 'ddpg', 'td3', 'sac').
        arguments (dict): argument names and values, e.g. ``locals()`` in an algorithm's first
            line; names without a rule (and ``logger_kwargs``' contents) are not looked at.
        flag_prefix (str): put before names in messages: ``'--'`` on the command line.
        num_procs (int): processes the run will use; default: this MPI job's size. Only
            VPG, TRPO and PPO run on more than one.

    Raises:
        UserError: naming the argument, the values it accepts and the value given.
    """
    def fail(name, rule_words, value):
        raise UserError(f"{flag_prefix}{name} must be {rule_words}, got {_shown(value)}")

    for name, value in arguments.items():
        rule = _BY_ALGORITHM.get((algo, name), RULES.get(name))
        if rule is not None and not rule.accepts(value):
            fail(name, rule.description, value)

    ac_kwargs = arguments.get('ac_kwargs') or {}
    if 'hidden_sizes' in ac_kwargs and not _hidden_sizes_ok(ac_kwargs['hidden_sizes']):
        name = 'hid' if flag_prefix else "ac_kwargs['hidden_sizes']"
        fail(name, "a list of positive ints such as [64,64]", ac_kwargs['hidden_sizes'])

    replay_size, batch_size = arguments.get('replay_size'), arguments.get('batch_size')
    if replay_size is not None and batch_size is not None and replay_size < batch_size:
        raise UserError(f"{flag_prefix}replay_size ({replay_size}) must be at least "
                        f"{flag_prefix}batch_size ({batch_size}): the buffer must hold a whole minibatch")

    if num_procs is None:
        from spinup_lib.mpi import num_procs as job_size

        num_procs = job_size()
    if algo not in MPI_ALGORITHMS and num_procs > 1:
        raise UserError("DDPG/TD3/SAC run on one process; use --cpu 1")
    if algo in MPI_ALGORITHMS and 'steps_per_epoch' in arguments and arguments['steps_per_epoch'] < num_procs:
        raise UserError(f"{flag_prefix}steps_per_epoch ({arguments['steps_per_epoch']}) must be at least "
                        f"the number of processes ({num_procs}): each collects its share of the epoch")
