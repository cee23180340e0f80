"""Algorithm math on hand-computed numbers. Run: pytest tests/test_rl_algorithms.py"""

from __future__ import annotations

import math

import pytest
import torch

from pretrainzero.rl.algorithms import ALGORITHMS, get_algorithm
from pretrainzero.rl.algorithms.base import group_stats

R = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
G = torch.tensor([7, 7, 3, 3, 3])  # group ids need not be contiguous or sorted
OLD = torch.zeros(2, 2)
NEW = torch.log(torch.tensor([[1.5, 0.5], [1.1, 0.7]]))  # ratios, since old = 0
ADV = torch.tensor([1.0, -1.0])
MASK = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
FULL = torch.ones(2, 2)


def close(a: torch.Tensor, b: list[float]) -> bool:
    return torch.allclose(a.double(), torch.tensor(b, dtype=torch.float64), atol=1e-5)


def test_group_stats_unbiased_std_and_singletons():
    mean, std, count = group_stats(torch.tensor([1.0, 0.0, 5.0]), torch.tensor([0, 0, 1]))
    assert close(mean, [0.5, 0.5, 5.0]) and close(std, [math.sqrt(0.5)] * 2 + [0.0]) and close(count, [2, 2, 1])


def test_grpo_advantages_and_sequence_mean_loss():
    algo = get_algorithm("grpo")
    # group 7: [1, 0] -> +-0.5/0.7071; group 3: [1, 1, 0], mean 2/3, std sqrt(1/3)
    s3 = math.sqrt(1 / 3)
    assert close(algo.advantages(R, G),
                 [0.5 / math.sqrt(0.5), -0.5 / math.sqrt(0.5), (1 / 3) / s3, (1 / 3) / s3, (-2 / 3) / s3])
    # row 0 (A=+1): -min(1.5, 1.2) = -1.2, -min(.5, .8) = -.5 -> mean -0.85; row 1 (A=-1): 1.1 -> 1.1
    assert close(algo.loss(NEW, OLD, ADV, MASK), [(-0.85 + 1.1) / 2])
    # the masked token of row 1 (ratio .7 < .8 with A<0) is clipped: +0.8 -> row mean .95
    assert close(algo.loss(NEW, OLD, ADV, FULL), [(-0.85 + 0.95) / 2])


def test_dapo_clip_higher_token_level():
    algo = get_algorithm("dapo")
    assert (algo.eps_low, algo.eps_high, algo.aggregation) == (0.2, 0.28, "token")
    # ratio 1.5 with A=+1 is clipped at 1.28 (not 1.2): tokens -1.28, -0.5, +1.1 -> mean over 3 tokens
    assert close(algo.loss(NEW, OLD, ADV, MASK), [(-1.28 - 0.5 + 1.1) / 3])
    assert close(algo.loss(NEW, OLD, ADV, FULL), [(-1.28 - 0.5 + 1.1 + 0.8) / 4])


def test_dapo_gradient_on_policy_is_minus_advantage_over_tokens():
    new = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]], requires_grad=True)
    get_algorithm("dapo").loss(new, new.detach(), ADV, MASK).backward()
    assert close(new.grad, [[-1 / 3, -1 / 3], [1 / 3, 0.0]])


def test_dr_grpo_no_std_constant_normaliser():
    algo = get_algorithm("dr_grpo", norm_len=4)
    assert close(algo.advantages(R, G), [0.5, -0.5, 1 / 3, 1 / 3, -2 / 3])
    assert close(algo.loss(NEW, OLD, ADV, MASK), [(-1.2 - 0.5 + 1.1) / (2 * 4)])


def test_rloo_leave_one_out():
    algo = get_algorithm("rloo")
    # group 3: 1 - mean(1, 0) = .5, 1 - .5 = .5, 0 - mean(1, 1) = -1; group 7: 1 - 0, 0 - 1
    assert close(algo.advantages(R, G), [1.0, -1.0, 0.5, 0.5, -1.0])
    assert close(algo.advantages(torch.tensor([3.0]), torch.tensor([0])), [0.0])  # singleton: no baseline
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]])
    adv = torch.tensor([1.0, -0.5])
    assert close(algo.loss(logp, logp, adv, MASK), [(3.0 - 0.25) / 2])


def test_reinforce_raw_reward():
    algo = get_algorithm("reinforce")
    assert close(algo.advantages(R, G), R.tolist())
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]])
    assert close(algo.loss(logp, logp, torch.tensor([2.0, 1.0]), MASK), [(6.0 + 0.5) / 2])


def test_reinforce_pp_group_baseline_then_batch_whitening():
    algo = get_algorithm("reinforce_pp")
    adv = algo.advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), torch.tensor([0, 0, 1, 1]))
    s = math.sqrt(0.5 / 3)  # centred [.5, -.5, 0, 0], unbiased std
    assert close(adv, [0.5 / s, -0.5 / s, 0.0, 0.0])
    assert close(algo.loss(NEW, OLD, ADV, MASK), [(-1.2 - 0.5 + 1.1) / 3])


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_equal_rewards_give_zero_advantage(name):
    algo = get_algorithm(name)
    if name == "reinforce":
        pytest.skip("no baseline by definition")
    assert torch.all(algo.advantages(torch.ones(4), torch.tensor([0, 0, 1, 1])).abs() < 1e-6)


def test_dotted_path_and_errors():
    algo = get_algorithm("user_algo_example:SignedReinforce")
    assert close(algo.advantages(torch.tensor([1.0, 0.0, 0.5]), torch.tensor([0, 0, 1])), [1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match="did you mean dapo"):
        get_algorithm("dapoo")
    with pytest.raises(ValueError, match="cannot import"):
        get_algorithm("no_such_module:Algo")
    with pytest.raises(ValueError, match="bad arguments"):
        get_algorithm("grpo", eps=0.1)
