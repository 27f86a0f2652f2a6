"""spinup_lib.notebook.tabular: FrozenLake's model as arrays, and value iteration on them."""
import gymnasium as gym
import numpy as np
import pytest

from spinup_lib.errors import UserError
from spinup_lib.notebook import model_tables, value_iteration


def test_model_tables_of_frozenlake():
    P = gym.make("FrozenLake-v1", is_slippery=True).unwrapped.P
    reward, continue_probs = model_tables(P)
    assert reward.shape == (16, 4) and continue_probs.shape == (16, 4, 16)
    # The only reward is +1 for reaching the goal (15), next to 14 only (11, above it, is a hole):
    # from 14, down, right and up each slip onto the goal one time in three.
    assert set(zip(*np.nonzero(reward))) == {(14, 1), (14, 2), (14, 3)}
    assert np.allclose(reward[14, 1:], 1 / 3)
    # The continue-probabilities are the transitions that do not end the episode, and only those.
    ending = np.array([[sum(p for p, _, _, done in P[s][a] if done) for a in range(4)] for s in range(16)])
    assert np.allclose(continue_probs.sum(axis=2) + ending, 1.0)
    assert continue_probs[:, :, [5, 7, 11, 12, 15]].sum() == 0  # holes and the goal end every episode


def test_value_iteration_solves_a_small_mdp_exactly():
    # Two states: in state 0, action 0 pays 1 and stays; action 1 pays 0 and moves to state 1, where
    # every action pays 2 forever. With gamma 0.9: V(1) = 20, Q(0,1) = 0.9 * 20 = 18 > Q(0,0) = 1 + 0.9 * 18.
    P = {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 1, 0.0, False)]},
         1: {0: [(1.0, 1, 2.0, False)], 1: [(1.0, 1, 2.0, False)]}}
    Q, sweeps = value_iteration(*model_tables(P), gamma=0.9)
    assert np.allclose(Q, [[1 + 0.9 * 18, 18], [20, 20]], atol=1e-9)
    assert sweeps > 1


def test_value_iteration_on_frozenlake_matches_the_linear_solve_of_its_greedy_policy():
    reward, continue_probs = model_tables(gym.make("FrozenLake-v1").unwrapped.P)
    Q, _ = value_iteration(reward, continue_probs, gamma=0.99)
    greedy = Q.argmax(axis=1)
    states = np.arange(16)
    V = np.linalg.solve(np.eye(16) - 0.99 * continue_probs[states, greedy], reward[states, greedy])
    assert np.allclose(V, Q.max(axis=1), atol=1e-8)


def test_value_iteration_that_cannot_converge_says_why():
    P = {0: {0: [(1.0, 0, 1.0, False)]}}  # reward 1 forever, undiscounted: no fixed point
    with pytest.raises(UserError, match="did not converge"):
        value_iteration(*model_tables(P), gamma=1.0, max_sweeps=50)
