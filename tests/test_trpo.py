"""TRPO's numerics: conjugate gradient on a zero right-hand side, and the "keep old params" path.

(Learning, resume and MPI runs of TRPO/NPG are in test_onpolicy.py and test_mpi.py.)
"""
import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

from spinup_lib import core
from spinup_lib.algos import trpo as trpo_module
from spinup_lib.envs import make_env_fn


def test_conjugate_gradient_of_zero_is_zero():
    # A zero gradient used to give 0/0 = NaN in the second iteration.
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    x = trpo_module.conjugate_gradient(lambda v: A @ v, torch.zeros(2), iters=10)
    assert torch.equal(x, torch.zeros(2))


def test_conjugate_gradient_solves_a_small_system_and_stays_finite():
    torch.manual_seed(0)
    M = torch.randn(5, 5)
    A = M @ M.T + 5 * torch.eye(5)  # symmetric positive definite
    b = torch.randn(5)
    x = trpo_module.conjugate_gradient(lambda v: A @ v, b, iters=20)  # more iterations than needed
    assert torch.all(torch.isfinite(x))
    torch.testing.assert_close(A @ x, b, atol=1e-4, rtol=1e-4)


class RecordingActorCritic(core.MLPActorCritic):
    """MLPActorCritic that remembers its policy's parameters as they were when built."""
    built = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingActorCritic.built.append(parameters_to_vector(self.pi.parameters()).detach().clone())


def run_one_epoch(tmp_path, algo):
    RecordingActorCritic.built.clear()
    ac = trpo_module.trpo(make_env_fn('CartPole-v1'), actor_critic=RecordingActorCritic, steps_per_epoch=200,
                          epochs=1, train_v_iters=2, algo=algo, logger_kwargs=dict(output_dir=str(tmp_path)))
    return RecordingActorCritic.built[0], parameters_to_vector(ac.pi.parameters()).detach()


@pytest.mark.parametrize('algo', ['trpo', 'npg'])
def test_zero_gradient_leaves_the_policy_as_it_was(tmp_path, monkeypatch, algo):
    # Stands for an epoch whose surrogate gradient is exactly zero: before the guard in
    # conjugate_gradient, this wrote NaN into the policy.
    solve = trpo_module.conjugate_gradient
    monkeypatch.setattr(trpo_module, 'conjugate_gradient', lambda Ax, b, iters: solve(Ax, torch.zeros_like(b), iters))
    before, after = run_one_epoch(tmp_path, algo)
    assert torch.equal(after, before)


@pytest.mark.parametrize('algo', ['trpo', 'npg'])
def test_a_step_that_is_not_finite_keeps_the_old_params(tmp_path, monkeypatch, algo):
    # A NaN direction: every line-search step fails (TRPO), or the full step is not finite (NPG).
    # The old parameters must come back exactly, not as theta_old - 0 * NaN.
    monkeypatch.setattr(trpo_module, 'conjugate_gradient', lambda Ax, b, iters: torch.full_like(b, float('nan')))
    before, after = run_one_epoch(tmp_path, algo)
    assert torch.equal(after, before)
    text = (tmp_path / 'progress.txt').read_text()
    header, row = text.splitlines()[:2]
    kl = float(row.split('\t')[header.split('\t').index('KL')])
    assert kl == 0.0 and np.isfinite(kl)
