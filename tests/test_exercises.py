"""The nbgrader problem sets ps1 and ps2, graded end to end as an instructor grades them.

Everything runs in a temporary course directory (a copy of solutions/ and nbgrader_config.py):
`nbgrader generate_assignment` releases the assignments, submissions are copied into
submitted/<student>/<assignment>/, `nbgrader autograde` grades them, and the scores are read
from the gradebook. Several submissions are graded by one autograde call to keep this cheap.

Cost: about 40 graded notebooks, each 3-20 s of execution at the small budget plus a kernel
start-up, the 30 s per-cell timeout of the infinite-loop submission, and the full-budget learning
checks of the reference run (about 35 s of CPU): estimated 6-8 minutes on a quiet 2-core CI
machine. Measured on the shared development machine at nice 19 under a load of 3-9: 16 min for
everything but the reference test.
The learning checks run their full budget only in `test_reference_solutions_get_full_marks`
(SPINUP_BUDGET=full); every other submission is graded with SPINUP_BUDGET=small, where the
checks are smoke tests and the hidden unit tests decide.
"""
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import nbformat
import pytest

# The committed notebook form (JupyterLab's, without the machine's Python version): tools/normalize_notebooks.py
_TOOL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "tools", "normalize_notebooks.py")
_spec = importlib.util.spec_from_file_location("normalize_notebooks", _TOOL)
_normalize = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_normalize)
KERNELSPEC, LANGUAGE_INFO = _normalize.KERNELSPEC, _normalize.LANGUAGE_INFO

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ASSIGNMENTS = {
    "ps1": ["exercise1_1_gaussian_log_likelihood", "exercise1_2_ppo_gaussian_policy", "exercise1_3_td3_losses"],
    "ps2": ["exercise2_1_trpo_value_fitting", "exercise2_2_ddpg_silent_bug"],
}
NB11, NB12, NB13 = ASSIGNMENTS["ps1"]
NB21, NB22 = ASSIGNMENTS["ps2"]
# Points a full autograde gives (manually graded answers excluded: they are graded by hand).
AUTO_POINTS = {NB11: 5, NB12: 10, NB13: 11, NB21: 2, NB22: 6}


# ----------------------------------------------------------------------------------------------
# The course directory and nbgrader
# ----------------------------------------------------------------------------------------------
def nbgrader(course, *args, budget="small"):
    env = dict(os.environ, SPINUP_BUDGET=budget)
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course directory with both assignments generated from solutions/."""
    root = tmp_path_factory.mktemp("released")
    shutil.copytree(osp.join(REPO, "solutions"), root / "solutions")
    shutil.copy(osp.join(REPO, "nbgrader_config.py"), root)
    for assignment in ASSIGNMENTS:
        nbgrader(root, "generate_assignment", assignment, "--force")
    return root


def course_copy(released, tmp_path_factory, name):
    """A copy of the released course for one group of submissions (its own gradebook)."""
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(released, root, dirs_exist_ok=True)
    return root


def read_nb(path):
    return nbformat.read(str(path), as_version=4)


def source_nb(name):
    assignment = "ps1" if name in ASSIGNMENTS["ps1"] else "ps2"
    return read_nb(osp.join(REPO, "solutions", assignment, name + ".ipynb"))


def with_answer(name, **answers):
    """The reference solution of notebook `name` with some answer cells (by grade_id) replaced."""
    nb = source_nb(name)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    assert not answers, f"no such cells in {name}: {list(answers)}"
    return nb


def submit(course, assignment, student, notebooks):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(folder / (name + ".ipynb")))


def autograde(course, assignment, budget="small"):
    """Grade every submission of `assignment` in this course directory."""
    return nbgrader(course, "autograde", assignment, "--force", budget=budget)


def gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook("sqlite:///" + str(course / "gradebook.db"))


def notebook_score(course, assignment, student, name):
    with gradebook(course) as gb:
        return gb.find_submission_notebook(name, assignment, student).score


def cell_score(course, assignment, student, name, grade_id):
    with gradebook(course) as gb:
        return gb.find_grade(grade_id, name, assignment, student).score


def strip_volatile(nb):
    """What matters in a released notebook: cells (type, id, source, metadata) and metadata."""
    return dict(metadata=nb.metadata, nbformat=(nb.nbformat, nb.nbformat_minor),
                cells=[dict(cell_type=c.cell_type, id=c.get("id"), source=c.source, metadata=c.metadata)
                       for c in nb.cells])


# ----------------------------------------------------------------------------------------------
# Release and contract
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_committed_release_matches_generate_assignment(released, assignment):
    course = released
    committed = sorted(f for f in os.listdir(osp.join(REPO, "exercises", assignment)) if f.endswith(".ipynb"))
    generated = sorted(f for f in os.listdir(course / "exercises" / assignment) if f.endswith(".ipynb"))
    assert committed == generated == sorted(n + ".ipynb" for n in ASSIGNMENTS[assignment])
    for name in committed:
        mine = strip_volatile(read_nb(osp.join(REPO, "exercises", assignment, name)))
        fresh = strip_volatile(read_nb(course / "exercises" / assignment / name))
        assert mine == fresh, (f"exercises/{assignment}/{name} differs from what `nbgrader generate_assignment "
                               f"{assignment}` makes from solutions/: regenerate it (see README.md)")


def test_sources_follow_the_contract():
    """The answer cells instructors and external graders rely on, and committed notebooks without outputs."""
    expected = {NB11: ["ex1_1_gaussian_likelihood"], NB12: ["ex1_2_mlp", "ex1_2_sample", "ex1_2_actor"],
                NB13: ["ex1_3_td3_losses"], NB21: ["ex2_1_gae"], NB22: ["ex2_2_fixed_q", "ex2_2_check_q"]}
    for name, answer_ids in expected.items():
        nb = source_nb(name)
        autograded = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                      if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        assert autograded == answer_ids, name
        assert nb.metadata == {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} has outputs"
    for name in (NB21, NB22):   # each ps2 exercise has a manually graded written answer
        assert any(c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
                   for c in source_nb(name).cells)


# ----------------------------------------------------------------------------------------------
# Reference solutions and the blank release
# ----------------------------------------------------------------------------------------------
def test_reference_solutions_get_full_marks(released, tmp_path_factory):
    """The reference solutions, with the learning checks at their FULL budget (the real bars)."""
    course = course_copy(released, tmp_path_factory, "reference")
    for assignment, names in ASSIGNMENTS.items():
        submit(course, assignment, "reference", {name: source_nb(name) for name in names})
        autograde(course, assignment, budget="full")
        for name in names:
            assert notebook_score(course, assignment, "reference", name) == AUTO_POINTS[name], name


def test_blank_release_gets_zero(released, tmp_path_factory):
    course = course_copy(released, tmp_path_factory, "blank")
    for assignment, names in ASSIGNMENTS.items():
        released = {name: read_nb(osp.join(REPO, "exercises", assignment, name + ".ipynb")) for name in names}
        submit(course, assignment, "blank", released)
        autograde(course, assignment)
        for name in names:
            assert notebook_score(course, assignment, "blank", name) == 0, name


def test_validate_tells_a_student_whether_the_tests_pass():
    from nbgrader.validator import Validator

    passed = Validator().validate(osp.join(REPO, "solutions", "ps1", NB11 + ".ipynb"))
    blank = Validator().validate(osp.join(REPO, "exercises", "ps1", NB11 + ".ipynb"))
    assert not passed.get("failed") and not passed.get("type_changed")
    assert blank.get("failed"), "validating the blank release must report failing cells"


# ----------------------------------------------------------------------------------------------
# Wrong submissions (one per classic mistake) and correct ones written another way
# ----------------------------------------------------------------------------------------------
LL = "def gaussian_likelihood(x, mu, log_std):\n"
WRONG_PS1 = {
    # 1.1
    "ll_missing_half": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    return (-(((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))).sum(-1)"))),
    "ll_missing_log_2pi": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    return (-0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std)).sum(-1)"))),
    "ll_std_for_variance": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    return (-0.5 * ((x - mu) ** 2 / torch.exp(log_std) + 2 * log_std + math.log(2 * math.pi))).sum(-1)"))),
    "ll_log_std_as_std": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    std = log_std\n"
        "    return (-0.5 * (((x - mu) / std) ** 2 + 2 * torch.log(std.abs()) + math.log(2 * math.pi))).sum(-1)"))),
    "ll_no_sum": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    return -0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))"))),
    "ll_sum_over_batch": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    return (-0.5 * (((x - mu) / torch.exp(log_std)) ** 2 + 2 * log_std + math.log(2 * math.pi))).sum()"))),
    "ll_not_differentiable": (NB11, dict(ex1_1_gaussian_likelihood=LL + (
        "    import numpy as np\n"
        "    x, mu, log_std = (t.detach().numpy() for t in (x, mu, log_std))\n"
        "    out = (-0.5 * (((x - mu) / np.exp(log_std)) ** 2 + 2 * log_std + np.log(2 * np.pi))).sum(-1)\n"
        "    return torch.as_tensor(out)"))),
    # 1.2
    "pi_log_std_not_trainable": (NB12, dict(ex1_2_actor=(
        "class MLPGaussianActor(nn.Module):\n"
        "    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):\n"
        "        super().__init__()\n"
        "        self.log_std = torch.full((act_dim,), -0.5)\n"
        "        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)\n"
        "    def forward(self, obs, act=None):\n"
        "        pi = DiagonalGaussianDistribution(self.mu_net(obs), self.log_std)\n"
        "        return pi, None if act is None else pi.log_prob(act)"))),
    "pi_log_std_at_zero": (NB12, dict(ex1_2_actor=(
        "class MLPGaussianActor(nn.Module):\n"
        "    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):\n"
        "        super().__init__()\n"
        "        self.log_std = nn.Parameter(torch.zeros(act_dim))\n"
        "        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)\n"
        "    def forward(self, obs, act=None):\n"
        "        pi = DiagonalGaussianDistribution(self.mu_net(obs), self.log_std)\n"
        "        return pi, None if act is None else pi.log_prob(act)"))),
    "pi_sample_ignores_std": (NB12, dict(ex1_2_sample=(
        "class DiagonalGaussianDistribution:\n"
        "    def __init__(self, mu, log_std):\n"
        "        self.mu, self.log_std = mu, log_std\n"
        "    def sample(self):\n"
        "        return self.mu + torch.randn_like(self.mu)\n"
        "    def log_prob(self, value):\n"
        "        return torch.distributions.Normal(self.mu, self.log_std.exp()).log_prob(value).sum(-1)\n"
        "    def entropy(self):\n"
        "        return (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std + 0 * self.mu).sum(-1)"))),
    "pi_mlp_squashes_output": (NB12, dict(ex1_2_mlp=(
        "def mlp(sizes, activation, output_activation=nn.Identity):\n"
        "    layers = []\n"
        "    for n_in, n_out in zip(sizes[:-1], sizes[1:]):\n"
        "        layers += [nn.Linear(n_in, n_out), activation()]\n"
        "    return nn.Sequential(*layers)"))),
}
TD3_Q = "def compute_loss_q(data, ac, ac_targ, gamma, target_noise, noise_clip, act_limit):\n"
TD3_PI = "\n\ndef compute_loss_pi(data, ac):\n    return -ac.q1(data['obs'], ac.pi(data['obs'])).mean()\n"


def td3_losses(target_action="torch.clamp(pi_targ + epsilon, -act_limit, act_limit)",
               epsilon="torch.clamp(torch.randn_like(pi_targ) * target_noise, -noise_clip, noise_clip)",
               pi_targ="ac_targ.pi(o2)", combine="torch.min", mask="(1 - d)", pi_loss=TD3_PI):
    return (TD3_Q +
            "    o, a, r, o2, d = data['obs'], data['act'], data['rew'], data['obs2'], data['done']\n"
            "    q1, q2 = ac.q1(o, a), ac.q2(o, a)\n"
            "    with torch.no_grad():\n"
            f"        pi_targ = {pi_targ}\n"
            f"        epsilon = {epsilon}\n"
            f"        a2 = {target_action}\n"
            f"        backup = r + gamma * {mask} * {combine}(ac_targ.q1(o2, a2), ac_targ.q2(o2, a2))\n"
            "    loss = ((q1 - backup) ** 2).mean() + ((q2 - backup) ** 2).mean()\n"
            "    return loss, dict(Q1Vals=q1.detach().numpy(), Q2Vals=q2.detach().numpy())" + pi_loss)


WRONG_PS1.update({
    "td3_no_smoothing": (NB13, dict(ex1_3_td3_losses=td3_losses(epsilon="0.0"))),
    "td3_unclipped_noise": (NB13, dict(ex1_3_td3_losses=td3_losses(epsilon="torch.randn_like(pi_targ) * target_noise"))),
    "td3_no_target_action_clip": (NB13, dict(ex1_3_td3_losses=td3_losses(target_action="pi_targ + epsilon"))),
    "td3_max_not_min": (NB13, dict(ex1_3_td3_losses=td3_losses(combine="torch.max"))),
    "td3_no_done_mask": (NB13, dict(ex1_3_td3_losses=td3_losses(mask="1"))),
    "td3_online_actor_in_target": (NB13, dict(ex1_3_td3_losses=td3_losses(pi_targ="ac.pi(o2)"))),
    "td3_policy_loss_sign": (NB13, dict(ex1_3_td3_losses=td3_losses(
        pi_loss=TD3_PI.replace("return -ac.q1", "return ac.q1")))),
})

# Correct answers written another way: they must get full marks.
ALTERNATIVES_PS1 = {
    NB11: dict(ex1_1_gaussian_likelihood=LL + (
        "    total = 0\n"
        "    for i in range(x.shape[-1]):\n"
        "        total = total + torch.distributions.Normal(mu[:, i], torch.exp(log_std[..., i])).log_prob(x[:, i])\n"
        "    return total")),
    NB12: dict(
        ex1_2_mlp=(
            "def mlp(sizes, activation, output_activation=nn.Identity):\n"
            "    n = len(sizes) - 1\n"
            "    return nn.Sequential(*[m for j in range(n) for m in\n"
            "                           (nn.Linear(sizes[j], sizes[j + 1]), (activation if j < n - 1 else output_activation)())])"),
        ex1_2_sample=(
            "class DiagonalGaussianDistribution:\n"
            "    def __init__(self, mu, log_std):\n"
            "        self.mu, self.log_std = mu, log_std\n"
            "    def sample(self):\n"
            "        return torch.normal(self.mu, torch.exp(self.log_std).expand_as(self.mu))\n"
            "    def log_prob(self, value):\n"
            "        dist = torch.distributions.Normal(self.mu, torch.exp(self.log_std))\n"
            "        return torch.distributions.Independent(dist, 1).log_prob(value)\n"
            "    def entropy(self):\n"
            "        return (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std + 0 * self.mu).sum(-1)")),
    NB13: dict(ex1_3_td3_losses=td3_losses(
        epsilon="torch.normal(0.0, target_noise, size=pi_targ.shape).clamp(-noise_clip, noise_clip)",
        target_action="(pi_targ + epsilon).clamp(min=-act_limit, max=act_limit)", combine="torch.minimum")),
}

# ps1 submissions whose test cells were edited or deleted: the tests still run.
def edited_test_cell():
    nb = with_answer(NB11, ex1_1_gaussian_likelihood=LL + "    return torch.zeros(x.shape[0])")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass  # tests removed by the student"
    return nb


def deleted_test_cells():
    nb = with_answer(NB11, ex1_1_gaussian_likelihood=LL + "    return torch.zeros(x.shape[0])")
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return nb


@pytest.fixture(scope="module")
def graded_ps1(released, tmp_path_factory):
    """Every wrong, alternative and tampered ps1 submission, graded by one autograde call."""
    course = course_copy(released, tmp_path_factory, "ps1_submissions")
    for student, (name, answers) in WRONG_PS1.items():
        submit(course, "ps1", student, {name: with_answer(name, **answers)})
    submit(course, "ps1", "alternative", {name: with_answer(name, **answers) for name, answers in ALTERNATIVES_PS1.items()})
    submit(course, "ps1", "edited_tests", {NB11: edited_test_cell()})
    submit(course, "ps1", "deleted_tests", {NB11: deleted_test_cells()})
    autograde(course, "ps1")
    return course


@pytest.mark.parametrize("student", sorted(WRONG_PS1))
def test_each_classic_mistake_loses_points(graded_ps1, student):
    name = WRONG_PS1[student][0]
    score = notebook_score(graded_ps1, "ps1", student, name)
    assert score < AUTO_POINTS[name], f"{student} got full marks ({score})"


def test_correct_answers_written_another_way_get_full_marks(graded_ps1):
    for name in ALTERNATIVES_PS1:
        assert notebook_score(graded_ps1, "ps1", "alternative", name) == AUTO_POINTS[name], name


@pytest.mark.parametrize("student", ["edited_tests", "deleted_tests"])
def test_edited_or_deleted_test_cells_are_restored(graded_ps1, student):
    # A wrong answer that returns the right shape: only the shape test passes.
    assert notebook_score(graded_ps1, "ps1", student, NB11) == 1
    with gradebook(graded_ps1) as gb:
        for grade_id in ("ex1_1_test_values", "ex1_1_test_gradient"):
            assert gb.find_grade(grade_id, NB11, "ps1", student).score == 0
    graded = read_nb(graded_ps1 / "autograded" / student / "ps1" / (NB11 + ".ipynb"))
    restored = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_1_test_values"]
    # the whole test is back, hidden part included
    assert len(restored) == 1 and "reference_log_likelihood" in restored[0].source


Q_HEAD = ("class MLPQFunction(nn.Module):\n"
          "    def __init__(self, obs_dim, act_dim, hidden_sizes, activation):\n"
          "        super().__init__()\n"
          "        self.q = core.mlp([obs_dim + act_dim, *hidden_sizes, 1], activation)\n"
          "    def forward(self, obs, act):\n")
CHECK_HEAD = "def check_q_function(q_function_class):\n"
WRONG_PS2 = {
    "q_shape_batch_by_1": (NB22, dict(ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1))")),
    "q_squeeze_all": (NB22, dict(ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1)).squeeze()")),
    "checker_passes_everything": (NB22, dict(ex2_2_check_q=CHECK_HEAD + "    return None")),
    "checker_fails_everything": (NB22, dict(ex2_2_check_q=CHECK_HEAD + "    assert False, 'wrong'")),
    "gae_wrong_discount": (NB21, dict(ex2_1_gae=(
        "def gae_advantages(rews, vals, gamma, lam):\n"
        "    deltas = np.asarray(rews) + gamma * np.asarray(vals[1:]) - np.asarray(vals[:-1])\n"
        "    return core.discounted_cumsum(deltas, gamma)"))),
}
ALTERNATIVES_PS2 = {
    NB22: dict(
        ex2_2_fixed_q=Q_HEAD + "        return self.q(torch.cat([obs, act], dim=-1))[..., 0]",
        ex2_2_check_q=CHECK_HEAD + (
            "    for batch in (5, 1):\n"
            "        q = q_function_class(3, 2, [8, 8], nn.Tanh)\n"
            "        if q(torch.rand(batch, 3), torch.rand(batch, 2)).shape != torch.Size([batch]):\n"
            "            raise AssertionError('bad shape')")),
}


@pytest.fixture(scope="module")
def graded_ps2(released, tmp_path_factory):
    """Wrong, alternative and infinite-loop ps2 submissions, graded by one autograde call."""
    course = course_copy(released, tmp_path_factory, "ps2_submissions")
    for student, (name, answers) in WRONG_PS2.items():
        submit(course, "ps2", student, {name: with_answer(name, **answers)})
    submit(course, "ps2", "alternative", {name: with_answer(name, **answers) for name, answers in ALTERNATIVES_PS2.items()})
    submit(course, "ps2", "infinite_loop", {NB22: with_answer(NB22, ex2_2_check_q=CHECK_HEAD + "    while True:\n        pass")})
    autograde(course, "ps2")
    return course


@pytest.mark.parametrize("student", sorted(WRONG_PS2))
def test_each_ps2_mistake_loses_points(graded_ps2, student):
    name = WRONG_PS2[student][0]
    assert notebook_score(graded_ps2, "ps2", student, name) < AUTO_POINTS[name]


def test_ps2_answers_written_another_way_get_full_marks(graded_ps2):
    assert notebook_score(graded_ps2, "ps2", "alternative", NB22) == AUTO_POINTS[NB22]


def test_infinite_loop_is_cut_off_and_the_rest_is_graded(graded_ps2):
    # the looping checker's test cell times out (0 points); the fixed Q function is still graded (3 points)
    assert cell_score(graded_ps2, "ps2", "infinite_loop", NB22, "ex2_2_test_check_q") == 0
    assert cell_score(graded_ps2, "ps2", "infinite_loop", NB22, "ex2_2_test_fixed_q") == 3
    graded = read_nb(graded_ps2 / "autograded" / "infinite_loop" / "ps2" / (NB22 + ".ipynb"))
    outputs = json.dumps([c.get("outputs", []) for c in graded.cells])
    assert "CellTimeoutError" in outputs or "KeyboardInterrupt" in outputs
    # ... and the cells after it ran: the training cell printed its summary
    assert "six runs of" in outputs
