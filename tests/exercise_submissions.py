"""Crafted submissions to the nbgrader exercises: correct answers written other ways, classic mistakes.

Each submission replaces some answer cells (by nbgrader ``grade_id``) of the reference solution in
``solutions/``. ``tests/test_exercises.py`` grades them with nbgrader; ``benchmarks/exercise_pass_rates.py``
runs the learning checks of 1.2 and 1.3 with them over many seeds. This file holds answers: it is
left out of the student edition (``tools/student_edition.py``).
"""

# ----------------------------------------------------------------------------------------------
# Exercise 1.1
# ----------------------------------------------------------------------------------------------
LL = "def gaussian_likelihood(x, mu, log_std):\n"


def ll(body):
    return dict(ex1_1_gaussian_likelihood=LL + body)


# Correct, written another way: the variance form, one dimension at a time.
ALTERNATIVE_1_1 = ll(
    "    variance = torch.exp(2 * log_std)\n"
    "    total = 0\n"
    "    for i in range(x.shape[-1]):\n"
    "        d = x[..., i] - mu[..., i]\n"
    "        total = total - d ** 2 / (2 * variance[..., i]) - log_std[..., i] - 0.5 * math.log(2 * math.pi)\n"
    "    return total")

# ----------------------------------------------------------------------------------------------
# Exercise 1.2
# ----------------------------------------------------------------------------------------------
MLP = "def mlp(sizes, activation, output_activation=nn.Identity):\n"
DIST_HEAD = ("class DiagonalGaussianDistribution:\n"
             "    def __init__(self, mu, log_std):\n"
             "        self.mu, self.log_std = mu, log_std\n")
DIST_ENTROPY = ("    def entropy(self):\n"
                "        return (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std + 0 * self.mu).sum(-1)")
ACTOR_HEAD = ("class MLPGaussianActor(nn.Module):\n"
              "    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):\n"
              "        super().__init__()\n")
ACTOR_FORWARD = ("    def forward(self, obs, act=None):\n"
                 "        pi = DiagonalGaussianDistribution(self.mu_net(obs), self.log_std)\n"
                 "        return pi, None if act is None else pi.log_prob(act)")


def distribution(sample, log_prob):
    return dict(ex1_2_sample=DIST_HEAD + "    def sample(self):\n" + sample + "\n"
                "    def log_prob(self, value):\n" + log_prob + "\n" + DIST_ENTROPY)


def actor(init):
    return dict(ex1_2_actor=ACTOR_HEAD + init + "\n" + ACTOR_FORWARD)


REFERENCE_SAMPLE = "        return self.mu + torch.exp(self.log_std) * torch.randn_like(self.mu)"
REFERENCE_LOG_PROB = ("        z = (value - self.mu) / torch.exp(self.log_std)\n"
                      "        return (-0.5 * (z ** 2 + 2 * self.log_std + math.log(2 * math.pi))).sum(-1)")
REFERENCE_INIT = ("        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))\n"
                  "        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)")

ALTERNATIVES_1_2 = {
    # inverse-CDF sampling, torch.distributions.Independent for the log-likelihood
    "alt1": dict(
        ex1_2_mlp=MLP + (
            "    n = len(sizes) - 1\n"
            "    return nn.Sequential(*[m for j in range(n) for m in\n"
            "                           (nn.Linear(sizes[j], sizes[j + 1]), (activation if j < n - 1 else output_activation)())])"),
        **distribution(
            # inverse-CDF sampling: a standard normal from a uniform, so other random numbers than
            # the reference's torch.randn_like (torch.normal or Normal.sample would draw the same ones)
            "        z = math.sqrt(2) * torch.erfinv(2 * torch.rand_like(self.mu) - 1)\n"
            "        return self.mu + torch.exp(self.log_std) * z",
            "        dist = torch.distributions.Normal(self.mu, torch.exp(self.log_std))\n"
            "        return torch.distributions.Independent(dist, 1).log_prob(value)")),
    # Box-Muller sampling, the variance form of the log-likelihood, the actor's parameters created
    # in the other order
    "alt2": dict(
        ex1_2_mlp=MLP + (
            "    from collections import OrderedDict\n"
            "    layers = OrderedDict()\n"
            "    for j, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):\n"
            "        layers[f'linear{j}'] = nn.Linear(n_in, n_out)\n"
            "        layers[f'act{j}'] = activation() if j < len(sizes) - 2 else output_activation()\n"
            "    return nn.Sequential(layers)"),
        **distribution(
            "        u1, u2 = 1 - torch.rand_like(self.mu), torch.rand_like(self.mu)\n"
            "        z = torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)\n"
            "        return self.mu + self.log_std.exp() * z",
            "        var = torch.exp(2 * self.log_std)\n"
            "        return (-(value - self.mu) ** 2 / (2 * var) - self.log_std - 0.5 * math.log(2 * math.pi)).sum(dim=-1)"),
        **actor("        self.mu_net = mlp([obs_dim] + list(hidden_sizes) + [act_dim], activation)\n"
                "        self.log_std = nn.Parameter(-0.5 * torch.ones(act_dim))")),
}

# Mistakes that stop PPO from learning: the learning check must fail them.
LEARNING_MISTAKES_1_2 = {
    "log_prob_sign": distribution(REFERENCE_SAMPLE, REFERENCE_LOG_PROB.replace("return (-0.5", "return (0.5")),
    "sample_ignores_mean": distribution("        return torch.exp(self.log_std) * torch.randn_like(self.mu)",
                                        REFERENCE_LOG_PROB),
    "mean_net_unregistered": actor(
        "        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))\n"
        "        self.nets = [mlp([obs_dim, *hidden_sizes, act_dim], activation)]  # a list: not trained\n"
        "        self.mu_net = lambda obs: self.nets[0](obs)"),
}

# ----------------------------------------------------------------------------------------------
# Exercise 1.3
# ----------------------------------------------------------------------------------------------
TD3_Q = "def compute_loss_q(data, ac, ac_targ, gamma, target_noise, noise_clip, act_limit):\n"
TD3_PI = "\n\ndef compute_loss_pi(data, ac):\n    return -ac.q1(data['obs'], ac.pi(data['obs'])).mean()\n"


def td3_losses(target_action="torch.clamp(pi_targ + epsilon, -act_limit, act_limit)",
               epsilon="torch.clamp(torch.randn_like(pi_targ) * target_noise, -noise_clip, noise_clip)",
               pi_targ="ac_targ.pi(o2)", combine="torch.min", mask="(1 - d)", discount="gamma", pi_loss=TD3_PI):
    return dict(ex1_3_td3_losses=(
        TD3_Q +
        "    o, a, r, o2, d = data['obs'], data['act'], data['rew'], data['obs2'], data['done']\n"
        "    q1, q2 = ac.q1(o, a), ac.q2(o, a)\n"
        "    with torch.no_grad():\n"
        f"        pi_targ = {pi_targ}\n"
        f"        epsilon = {epsilon}\n"
        f"        a2 = {target_action}\n"
        f"        backup = r + {discount} * {mask} * {combine}(ac_targ.q1(o2, a2), ac_targ.q2(o2, a2))\n"
        "    loss = ((q1 - backup) ** 2).mean() + ((q2 - backup) ** 2).mean()\n"
        "    return loss, dict(Q1Vals=q1.detach().numpy(), Q2Vals=q2.detach().numpy())" + pi_loss))


ALTERNATIVES_1_3 = {
    # the smoothing noise from numpy's generator (which the exploration noise also draws from, so
    # the random numbers differ from the reference's), Tensor.clamp, torch.minimum
    "alt1": td3_losses(
        epsilon="torch.as_tensor(np.clip(np.random.normal(0.0, target_noise, size=tuple(pi_targ.shape)), "
                "-noise_clip, noise_clip), dtype=torch.float32)",
        target_action="(pi_targ + epsilon).clamp(min=-act_limit, max=act_limit)", combine="torch.minimum"),
    # Box-Muller noise (other random numbers than the reference's), the target first, max/min
    # clipping, F.mse_loss
    "alt2": dict(ex1_3_td3_losses=(
        TD3_Q +
        "    import math\n"
        "    import torch.nn.functional as F\n"
        "    with torch.no_grad():\n"
        "        u1, u2 = 1 - torch.rand(data['act'].shape), torch.rand(data['act'].shape)  # Box-Muller\n"
        "        noise = target_noise * torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)\n"
        "        noise = torch.max(torch.min(noise, torch.tensor(noise_clip)), torch.tensor(-noise_clip))\n"
        "        next_action = ac_targ.pi(data['obs2']) + noise\n"
        "        next_action = torch.max(torch.min(next_action, torch.tensor(act_limit)), torch.tensor(-act_limit))\n"
        "        q_next = torch.stack([ac_targ.q1(data['obs2'], next_action), ac_targ.q2(data['obs2'], next_action)]).min(0).values\n"
        "        target = data['rew'] + gamma * (1.0 - data['done']) * q_next\n"
        "    q1 = ac.q1(data['obs'], data['act'])\n"
        "    q2 = ac.q2(data['obs'], data['act'])\n"
        "    loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)\n"
        "    return loss, {'Q1Vals': q1.detach().numpy(), 'Q2Vals': q2.detach().numpy()}\n"
        "\n\ndef compute_loss_pi(data, ac):\n"
        "    q = ac.q1(data['obs'], ac.pi(data['obs']))\n"
        "    return -torch.mean(q)\n")),
}

LEARNING_MISTAKES_1_3 = {
    "policy_loss_sign": td3_losses(pi_loss=TD3_PI.replace("return -ac.q1", "return ac.q1")),
}

# Mistakes that still learn on the check's task, which the learning check therefore cannot catch (the
# test cells do). With no bootstrap (gamma = 0) the critic predicts only the next reward, and on
# InvertedPendulum-v5 the step that drops the pole pays 0 instead of 1: a one-step critic already sees
# the danger, and the policy learns to balance (benchmarks/README.md, "Exercise learning checks").
STILL_LEARNING_1_2 = {}
STILL_LEARNING_1_3 = {
    "no_bootstrap": td3_losses(discount="0.0"),
}


# ----------------------------------------------------------------------------------------------
# Classic mistakes, one submission each (or several mistakes on separate pieces of one notebook),
# with the test cell that must fail and a phrase its message must contain (the likely mistake).
# ----------------------------------------------------------------------------------------------
NB11, NB12, NB13 = ("exercise1_1_gaussian_log_likelihood", "exercise1_2_ppo_gaussian_policy",
                    "exercise1_3_td3_losses")
NB21, NB22 = "exercise2_1_trpo_value_fitting", "exercise2_2_ddpg_silent_bug"

SQUASHING_MLP = dict(ex1_2_mlp=MLP + (
    "    layers = []\n"
    "    for n_in, n_out in zip(sizes[:-1], sizes[1:]):\n"
    "        layers += [nn.Linear(n_in, n_out), activation()]\n"
    "    return nn.Sequential(*layers)"))
HALF_MISSING_LOG_PROB = "        return (-(((value - self.mu) / torch.exp(self.log_std)) ** 2 + 2 * self.log_std + math.log(2 * math.pi))).sum(-1)"

# {student: (notebook, answers, {test grade_id: phrase of its message})}
MISTAKES = {
    # 1.1
    "ll_missing_half": (NB11, ll(
        "    return (-(((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))).sum(-1)"),
        dict(ex1_1_test_values="factor 1/2 is missing")),
    "ll_missing_log_2pi": (NB11, ll(
        "    return (-0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std)).sum(-1)"),
        dict(ex1_1_test_values="log 2 pi term is missing")),
    "ll_std_for_variance": (NB11, ll(
        "    return (-0.5 * ((x - mu) ** 2 / torch.exp(log_std) + 2 * log_std + math.log(2 * math.pi))).sum(-1)"),
        dict(ex1_1_test_values="not by sigma^2, the variance")),
    "ll_log_std_as_std": (NB11, ll(
        "    std = log_std\n"
        "    return (-0.5 * (((x - mu) / std) ** 2 + 2 * torch.log(std.abs()) + math.log(2 * math.pi))).sum(-1)"),
        dict(ex1_1_test_values="log_std used as the standard deviation")),
    "ll_no_sum": (NB11, ll(
        "    return -0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))"),
        dict(ex1_1_test_shape="no sum over the action dimension")),
    "ll_sum_over_batch": (NB11, ll(
        "    return (-0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))).sum()"),
        dict(ex1_1_test_shape="the sum runs over the batch too")),
    "ll_not_differentiable": (NB11, ll(
        "    import numpy as np\n"
        "    x, mu, log_std = (t.detach().numpy() for t in (x, mu, log_std))\n"
        "    out = (-0.5 * (((x - mu) / np.exp(log_std)) ** 2 + 2 * log_std + np.log(2 * np.pi))).sum(-1)\n"
        "    return torch.as_tensor(out)"),
        dict(ex1_1_test_gradient="not differentiable")),
    # 1.2: mistakes in separate pieces of one notebook; each costs its own piece's points only
    "pieces_wrong_actor_right": (NB12, dict(**SQUASHING_MLP, **distribution(REFERENCE_SAMPLE, HALF_MISSING_LOG_PROB)),
                                 dict(ex1_2_test_mlp="squashes", ex1_2_test_log_prob="factor 1/2 is missing")),
    "sample_and_actor_wrong": (NB12, dict(
        **distribution("        return self.mu + torch.randn_like(self.mu)", REFERENCE_LOG_PROB),
        **actor("        self.log_std = torch.full((act_dim,), -0.5)\n"
                "        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)")),
        dict(ex1_2_test_sample="the standard deviation is left out", ex1_2_test_actor="nn.Parameter")),
    "log_std_at_zero": (NB12, actor("        self.log_std = nn.Parameter(torch.zeros(act_dim))\n"
                                    "        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)"),
                        dict(ex1_2_test_actor="starts at -0.5")),
    # 1.3
    "td3_no_smoothing": (NB13, td3_losses(epsilon="0.0"), dict(ex1_3_test_target_noise="smoothing left out")),
    "td3_unclipped_noise": (NB13, td3_losses(epsilon="torch.randn_like(pi_targ) * target_noise"),
                            dict(ex1_3_test_noise_clip="unclipped noise")),
    "td3_no_target_action_clip": (NB13, td3_losses(target_action="pi_targ + epsilon"),
                                  dict(ex1_3_test_action_clip="not clipped to the action box")),
    "td3_max_not_min": (NB13, td3_losses(combine="torch.max"), dict(ex1_3_test_q_target="max instead of min")),
    "td3_no_done_mask": (NB13, td3_losses(mask="1"), dict(ex1_3_test_q_target="no (1 - d)")),
    "td3_no_bootstrap": (NB13, td3_losses(discount="0.0"), dict(ex1_3_test_q_target="no bootstrap")),
    "td3_online_actor_in_target": (NB13, td3_losses(pi_targ="ac.pi(o2)"),
                                   dict(ex1_3_test_target_policy="online policy")),
    "td3_policy_loss_sign": (NB13, td3_losses(pi_loss=TD3_PI.replace("return -ac.q1", "return ac.q1")),
                             dict(ex1_3_test_loss_pi="the sign")),
}

# Answers that import the library's (or torch.distributions') answer where the exercise forbids it.
LIBRARY_ANSWERS = {
    "ll_torch_distributions": (NB11, ll(
        "    return torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(x).sum(-1)"),
        ["ex1_1_test_values"]),
    "library_mlp_and_actor": (NB12, dict(
        ex1_2_mlp=MLP + "    from spinup_lib.core import mlp as library_mlp\n"
                        "    return library_mlp(sizes, activation, output_activation)",
        ex1_2_actor="MLPGaussianActor = core.MLPGaussianActor"),
        ["ex1_2_test_mlp", "ex1_2_test_actor", "ex1_2_learning_check"]),
}

# ps2
Q_HEAD = ("class FixedQFunction(nn.Module):\n"
          "    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):\n"
          "        super().__init__()\n"
          "        self.q = core.mlp([obs_dim + act_dim, *hidden_sizes, 1], activation)\n"
          "    def forward(self, obs, act):\n")
CHECK_HEAD = "def check_q_function(q_function_class):\n"
MISTAKES_PS2 = {
    "q_not_fixed": (NB22, dict(ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1))"),
                    ["ex2_2_test_fixed_q"]),
    "q_squeeze_all": (NB22, dict(ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1)).squeeze()"),
                      ["ex2_2_test_fixed_q"]),
    "q_library_subclass": (NB22, dict(ex2_2_fixed_q="class FixedQFunction(core.MLPQFunction):\n    pass"),
                           ["ex2_2_test_fixed_q"]),
    "checker_passes_everything": (NB22, dict(ex2_2_check_q=CHECK_HEAD + "    return None"), ["ex2_2_test_check_q"]),
    "checker_fails_everything": (NB22, dict(ex2_2_check_q=CHECK_HEAD + "    assert False, 'wrong'"),
                                 ["ex2_2_test_check_q"]),
    "checker_batch_of_one_missing": (NB22, dict(ex2_2_check_q=CHECK_HEAD + (
        "    q = q_function_class(3, 2, [8], nn.Tanh)\n"
        "    assert q(torch.rand(5, 3), torch.rand(5, 2)).shape == (5,)")), ["ex2_2_test_check_q"]),
    "gae_wrong_discount": (NB21, dict(ex2_1_gae=(
        "def gae_advantages(rews, vals, gamma, lam):\n"
        "    deltas = np.asarray(rews) + gamma * np.asarray(vals[1:]) - np.asarray(vals[:-1])\n"
        "    return core.discounted_cumsum(deltas, gamma)")), ["ex2_1_test_gae"]),
    "gae_library_buffer": (NB21, dict(ex2_1_gae=(
        "def gae_advantages(rews, vals, gamma, lam):\n"
        "    buf = core.OnPolicyBuffer(1, 1, len(rews), gamma, lam)\n"
        "    for r, v in zip(rews, vals[:-1]):\n"
        "        buf.store(0.0, 0.0, r, v, 0.0)\n"
        "    buf.finish_path(vals[-1])\n"
        "    return buf.adv_buf.astype(float)")), ["ex2_1_test_gae"]),
}
ALTERNATIVE_2_2 = dict(
    ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1))[..., 0]",
    ex2_2_check_q=CHECK_HEAD + (
        "    for batch in (5, 1):\n"
        "        q = q_function_class(3, 2, [8, 8], nn.Tanh)\n"
        "        if q(torch.rand(batch, 3), torch.rand(batch, 2)).shape != torch.Size([batch]):\n"
        "            raise AssertionError('bad shape')"))
INFINITE_LOOP_CHECKER = dict(ex2_2_check_q=CHECK_HEAD + "    while True:\n        pass")

# ----------------------------------------------------------------------------------------------
# Tricks for free points: a policy (1.2) or losses (1.3) that cannot learn, with every trick at once
# ----------------------------------------------------------------------------------------------
ENVIRONMENT_TRICKS = (
    "import os\n"
    "os.environ['SPINUP_BUDGET'] = 'small'      # the old budget helper's smoke-test switch\n"
    "os.environ['CI'] = 'true'\n"
    "os.environ.pop('NBGRADER_EXECUTION', None)  # 'not graded'\n"
    "import spinup_lib.notebook\n"
    "spinup_lib.notebook.budget = lambda full, small: small\n"
    "spinup_lib.notebook.budget_mode = lambda: 'small'\n"
    "budget = spinup_lib.notebook.budget\n")
# a cell of the student's own, just before the learning check, rebinding the check's names
NAME_TRICKS = (
    "CHECK = dict(epochs=1, steps_per_epoch=10, bar=None)\n"
    "BAR, SEEDS, EPOCHS, STEPS_PER_EPOCH = -1e9, (0,), 1, 10\n"
    "learning_check = lambda seed=0, **kwargs: [150.0]\n"
    "learning_score = lambda result: 1e9\n"
    "ppo_with_your_policy = lambda *args, **kwargs: None\n"
    "run_td3 = lambda *args, **kwargs: [150.0]\n"
    "max = lambda *args, **kwargs: 1e9\n")
TRICKS = {
    NB12: dict(LEARNING_MISTAKES_1_2["log_prob_sign"],
               ex1_2_mlp=ENVIRONMENT_TRICKS + "\n" + MLP + "    return core_mlp_copy(sizes, activation, output_activation)\n\n"
               "def core_mlp_copy(sizes, activation, output_activation=nn.Identity):\n"
               "    layers = []\n"
               "    for j in range(len(sizes) - 1):\n"
               "        act = activation if j < len(sizes) - 2 else output_activation\n"
               "        layers += [nn.Linear(sizes[j], sizes[j + 1]), act()]\n"
               "    return nn.Sequential(*layers)"),
    NB13: dict(ex1_3_td3_losses=ENVIRONMENT_TRICKS + "\n" + LEARNING_MISTAKES_1_3["policy_loss_sign"]["ex1_3_td3_losses"]),
}
