"""What the introductory chapters share: a small MDP's model as arrays, and value iteration on it.

FrozenLake publishes its exact model (``env.unwrapped.P``). Chapter 01 turns it into arrays to
solve the Bellman equations exactly; chapter 02 plans with it, with a wrong model, and with models
learned by counting transitions. Both use the two functions here, so that the chapters show one
implementation (chapter 01 prints it) rather than two copies. Chapters import them from
``spinup_lib.notebook``.
"""
import numpy as np

from spinup_lib.errors import UserError

__all__ = ["model_tables", "value_iteration"]


def model_tables(transitions):
    """The arrays of a tabular model given as gymnasium's ``P``: ``P[s][a]`` lists ``(p, s', r, terminated)``.

    Returns:
        expected_reward: shape (S, A), r(s, a) = sum over s' of P(s'|s, a) R(s, a, s').
        continue_probs: shape (S, A, S), P_c(s'|s, a) = P(s'|s, a) (1 - d): only the transitions
            after which the episode goes on (those that end it carry no future value), so that a
            Bellman backup of a value table ``V`` for every pair at once is
            ``expected_reward + gamma * continue_probs @ V``.
    """
    n_states, n_actions = len(transitions), len(transitions[0])
    expected_reward = np.zeros((n_states, n_actions))
    continue_probs = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, reward, terminated in transitions[s][a]:
                expected_reward[s, a] += prob * reward
                if not terminated:
                    continue_probs[s, a, next_state] += prob
    return expected_reward, continue_probs


def value_iteration(expected_reward, continue_probs, gamma, tol=1e-12, max_sweeps=100_000):
    """Q* of a tabular MDP, by repeating the Bellman optimality backup until it stops changing.

    Each sweep sets Q(s, a) <- r(s, a) + gamma * sum over s' of P_c(s'|s, a) max_a' Q(s', a'), for
    every pair at once; with gamma < 1 this map is a contraction, so it converges from any start
    (here zero).

    Args:
        expected_reward, continue_probs: the model, as :func:`model_tables` returns it (or
            estimated from counts).
        gamma: the discount factor.
        tol: stop when no entry of Q changes by more than this in a sweep.
        max_sweeps: give up after this many sweeps.

    Returns:
        (Q, sweeps): the table of shape (S, A), and the number of sweeps it took.
    """
    Q = np.zeros_like(expected_reward, dtype=float)
    for sweep in range(1, max_sweeps + 1):
        Q_new = expected_reward + gamma * continue_probs @ Q.max(axis=1)
        if np.max(np.abs(Q_new - Q)) < tol:
            return Q_new, sweep
        Q = Q_new
    raise UserError(f"value iteration did not converge in {max_sweeps} sweeps (gamma={gamma}): "
                    "with gamma = 1 it converges only if every policy ends its episodes; use gamma < 1")
