"""The entry module and the PretrainZero trainer inside OpenRLHF 0.11.2's real ``train()``.

``python -m pretrainzero.openrlhf.train_ppo_ray`` runs OpenRLHF's real parser, post-parse checks
and ``train()``, the real ``DeepspeedStrategy`` object, ``RayActorGroup``, ``RemoteExperienceMaker``
(forward dispatch, micro-batching), ``BasePPOTrainer.train_step`` / ``broadcast_to_vllm`` /
``save_logs_and_checkpoints`` and ``RolloutRayActor.generate_responses`` with our plug-in, over an
in-process synchronous Ray stub. What needs a GPU is replaced: vLLM's ``generate`` answers from
the step tests' script but scores its tokens with its own copy of the tiny model; the DeepSpeed
policy actor is a CPU stand-in that runs OpenRLHF's real ``Actor`` forward, ``PolicyLoss`` and
loss normaliser with a torch optimizer, and copies its weights into the engine on broadcast.
Run: pytest tests/test_openrlhf_trainer.py
"""

from __future__ import annotations

import collections
import io
import json
import random
from contextlib import redirect_stderr
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

pytest.importorskip("openrlhf")
from openrlhf_stubs import stubbed  # noqa: E402
from test_rl_step import A, B, game  # noqa: E402

from pretrainzero.corpus import register_corpus  # noqa: E402
from pretrainzero.openrlhf.batch import fixed_batch_size  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "pretrainzero" / "openrlhf" / "agent_plugin.py"
G_GEN, G_PRED, P = 3, 4, 2
S = fixed_batch_size(P * G_GEN * (1 + G_PRED), G_PRED, 1, 2, 4)  # 32


@pytest.fixture(scope="module")
def orl():
    with stubbed() as ray:
        import openrlhf.trainer.ppo_trainer as ppo_trainer
        import openrlhf.trainer.ray as trainer_ray
        import openrlhf.trainer.ray.ppo_actor as ppo_actor
        import openrlhf.utils.config as config
        from openrlhf.models import Actor
        from openrlhf.models.loss import PolicyLoss
        from openrlhf.trainer.ppo_utils.experience import (
            make_experience_batch,
            remove_padding_in_sequences,
            split_experience_batch,
        )
        from openrlhf.trainer.ray import vllm_engine
        from openrlhf.trainer.ray.launcher import BaseModelActor, RayActorGroup
        from openrlhf.utils.loss_utils import iter_grad_accum_global_norm

        from pretrainzero.openrlhf import train_ppo_ray
        from pretrainzero.openrlhf.trainer import PretrainZeroTrainer

        yield SimpleNamespace(**locals())


@pytest.fixture(scope="module")
def corpus():
    register_corpus("orl-trainer-test", source=[A.text, B.text], min_chars=1)
    return "orl-trainer-test"


def write_recipe(tmp_path, tiny_model_dir, corpus, **overrides):
    data = yaml.safe_load((ROOT / "agents" / "tiny-test.yaml").read_text())
    data.update({"model": str(tiny_model_dir), "corpus": corpus, "paragraphs_per_step": P, "g_gen": G_GEN,
                 "g_pred": G_PRED, "max_prompt_tokens": 1024, "max_response_tokens": 64, "filter_groups": True,
                 "steps": 2, **overrides})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def argv(tiny_model_dir, tmp_path, *extra):
    return ["--actor.model_name_or_path", str(tiny_model_dir), "--actor.num_nodes", "1",
            "--actor.num_gpus_per_node", "1", "--vllm.num_engines", "1", "--vllm.tensor_parallel_size", "1",
            "--train.colocate_all", "--vllm.enable_sleep", "--ds.enable_sleep",
            "--algo.kl.init_coef", "0", "--algo.advantage.estimator", "group_norm",
            "--rollout.n_samples_per_prompt", str(G_PRED), "--rollout.batch_size", str(S // G_PRED),
            "--train.batch_size", str(S), "--train.micro_batch_size", "2", "--rollout.micro_batch_size", "4",
            "--train.max_epochs", "1", "--actor.eps_clip_low_high", "0.2", "0.28", "--actor.loss_agg_mode",
            "token-mean", "--actor.adam.lr", "1e-3", "--data.max_len", "1088", "--rollout.temperature", "1.0",
            "--train.agent_func_path", str(PLUGIN), "--ckpt.path", str(tmp_path / "ckpt"), "--ckpt.save_steps", "1",
            "--ckpt.output_dir", str(tmp_path / "final"), *extra]


def load_tiny(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()


class Harness:
    """The fakes for what needs a GPU, and a record of every call OpenRLHF makes on them."""

    def __init__(self, orl, tiny_model_dir, respond):
        self.calls = collections.defaultdict(list)
        self.groups, self.trainers, self.statuses = [], [], []
        harness = self

        class FakeVLLMEngine:
            generate_responses = orl.vllm_engine.RolloutRayActor.cls.generate_responses  # the real method

            def __init__(self):
                from transformers import AutoTokenizer

                self.executor = orl.vllm_engine._load_agent_executor(str(PLUGIN))
                self.tok = AutoTokenizer.from_pretrained(tiny_model_dir)
                self.model = load_tiny(tiny_model_dir)
                self.seen = collections.Counter()

            async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
                k = self.seen[tuple(prompt_token_ids)]
                self.seen[tuple(prompt_token_ids)] += 1
                text = respond(self.tok.decode(prompt_token_ids), k)
                ids = (self.tok(text, add_special_tokens=False)["input_ids"] or [0])[:sampling_params.max_tokens]
                with torch.no_grad():  # the engine's own log-probs of the tokens it "sampled"
                    logits = self.model(torch.tensor([list(prompt_token_ids) + ids])).logits[0].float()
                lp = torch.log_softmax(logits[len(prompt_token_ids) - 1:-1], -1)
                logprobs = [{t: SimpleNamespace(logprob=float(lp[j, t]))} for j, t in enumerate(ids)]
                assert sampling_params.logprobs == 1  # the step always asks for them
                out = SimpleNamespace(text=text, token_ids=ids, logprobs=logprobs, finish_reason="stop")
                return SimpleNamespace(outputs=[out])

            def wake_up(self, tags=None):
                harness.calls["engine.wake_up"].append(tags)
                if tags is None:  # a new step's rollouts: the script numbers each prompt's samples from 0
                    self.seen.clear()

            def load_weights(self, state):
                self.model.load_state_dict(state)

            def __getattr__(self, name):  # wake_up, sleep, reset_prefix_cache...: recorded
                return lambda *a, **k: harness.calls[f"engine.{name}"].append(k)

        class FakePolicyActor(orl.BaseModelActor):
            """DeepSpeed's place on a CPU: OpenRLHF's Actor forward and PolicyLoss, a torch optimizer."""

            def __init__(self, world_size, rank, master_addr, master_port):
                self.items = []

            def init_model_from_pretrained(self, strategy, pretrain, max_steps=None, vllm_engines=None):
                self.strategy, self.engines = strategy, vllm_engines
                harness.calls["init"].append((pretrain, max_steps))
                self.actor = orl.Actor(load_tiny(pretrain), temperature=strategy.args.rollout.temperature)
                self.actor.packing_samples = False  # Actor sets it only when it loads the model itself
                self.optim = torch.optim.SGD(self.actor.parameters(), lr=strategy.args.actor.adam.lr)
                a = strategy.args.actor
                self.loss = orl.PolicyLoss(*a.eps_clip_low_high, token_level_loss=a.loss_agg_mode == "token-mean")

            def forward(self, sequences, action_mask=None, attention_mask=None, packed_seq_lens=None,
                        mm_train_inputs_list=None):
                with torch.no_grad():
                    return self.actor(sequences, action_mask, attention_mask)

            def empty_cache(self):
                pass

            def append(self, experience):
                harness.calls["append"].append(len(experience.sequences))
                self.items.extend(orl.remove_padding_in_sequences(orl.split_experience_batch(experience)))

            def fit(self, kl_ctl=0):
                args = self.strategy.args
                random.Random(0).shuffle(self.items)
                tm = args.train.micro_batch_size
                mbs = [orl.make_experience_batch(self.items[i:i + tm]) for i in range(0, len(self.items), tm)]
                gas = args.train.batch_size // tm
                losses = []
                for mb, info in orl.iter_grad_accum_global_norm(iter(mbs), None, gas, lambda e: e.action_mask):
                    logp = self.actor(mb.sequences, mb.action_mask, mb.attention_mask)
                    loss = self.loss(logp, mb.action_log_probs, mb.advantages, action_mask=mb.action_mask,
                                     rollout_log_probs=mb.rollout_log_probs, **info)[0]
                    (loss / gas).backward()
                    losses.append(float(loss.detach()) / gas)
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.actor.parameters(), 1.0))
                self.optim.step()
                self.optim.zero_grad()
                harness.calls["fit"].append(len(mbs))
                self.items = []
                return {"policy_loss": sum(losses), "actor_grad_norm": grad_norm}

            def broadcast_to_vllm(self):
                harness.calls["broadcast"].append(1)
                state = {k: v.detach().clone() for k, v in self.actor.model.state_dict().items()}
                for engine in self.engines:
                    engine.load_weights.remote(state)

            def save_checkpoint(self, tag, client_states=None, metric_value=None, metric_key=None):
                harness.calls["save_checkpoint"].append((tag, client_states))
                actor_dir = Path(self.strategy.args.ckpt.path) / "_actor"  # where OpenRLHF looks on resume
                actor_dir.mkdir(parents=True, exist_ok=True)
                (actor_dir / "client_states.json").write_text(json.dumps(client_states))

            def get_checkpoint_states(self):
                return json.loads((Path(self.strategy.args.ckpt.path) / "_actor" / "client_states.json").read_text())

            def save_model(self):
                harness.calls["save_model"].append(1)

            def reload_states(self):
                harness.calls["reload_states"].append(1)

            def offload_states(self):
                harness.calls["offload_states"].append(1)

        self.engine_class, self.actor_class = FakeVLLMEngine, FakePolicyActor

    def install(self, orl, monkeypatch):
        harness = self

        def create_vllm_engines(*args, **kwargs):
            harness.calls["create_vllm_engines"].append(kwargs)
            return [orl.ray.remote(harness.engine_class).remote()]

        real_group_init = orl.RayActorGroup.__init__

        def group_init(group, num_nodes, num_gpus_per_node, ray_actor_type, *a, **k):
            harness.groups.append(ray_actor_type)
            real_group_init(group, num_nodes, num_gpus_per_node, ray_actor_type, *a, **k)

        real_trainer_init = orl.PretrainZeroTrainer.__init__

        def trainer_init(trainer, *a, **k):
            harness.trainers.append(trainer)
            real_trainer_init(trainer, *a, **k)

        real_save = orl.PretrainZeroTrainer.save_logs_and_checkpoints

        def save_logs(trainer, global_step, logs_dict=None, client_states=None):
            harness.statuses.append(dict(logs_dict))
            real_save(trainer, global_step, logs_dict, client_states)

        monkeypatch.setattr(orl.trainer_ray, "create_vllm_engines", create_vllm_engines)
        monkeypatch.setattr(orl.ppo_actor, "PolicyModelActor", orl.ray.remote(self.actor_class))
        monkeypatch.setattr(orl.RayActorGroup, "__init__", group_init)
        monkeypatch.setattr(orl.PretrainZeroTrainer, "__init__", trainer_init)
        monkeypatch.setattr(orl.PretrainZeroTrainer, "save_logs_and_checkpoints", save_logs)
        # bind() rebinds these (and create_vllm_engines, patched above); monkeypatch restores OpenRLHF's
        monkeypatch.setattr(orl.ppo_trainer, "PPOTrainer", orl.ppo_trainer.PPOTrainer)
        monkeypatch.setattr(orl.config, "hierarchize", orl.config.hierarchize)


def run(orl, monkeypatch, harness, recipe, args):
    harness.install(orl, monkeypatch)
    monkeypatch.setenv(orl.train_ppo_ray.RECIPE_ENV, str(recipe))
    err = io.StringIO()
    with stubbed(), redirect_stderr(err):
        rc = orl.train_ppo_ray.main(args)
    return rc, err.getvalue()


def test_two_steps_inside_openrlhf_train(orl, monkeypatch, tmp_path, tiny_model_dir, corpus):
    h = Harness(orl, tiny_model_dir, game)
    rc, err = run(orl, monkeypatch, h, write_recipe(tmp_path, tiny_model_dir, corpus),
                  argv(tiny_model_dir, tmp_path))
    assert rc == 0, err
    # our trainer was bound into OpenRLHF's train(); only the policy actor group was built
    assert [type(t).__name__ for t in h.trainers] == ["PretrainZeroTrainer"]
    assert [g.cls.__name__ for g in h.groups] == ["FakePolicyActor"]
    (engine_kwargs,) = h.calls["create_vllm_engines"]
    assert engine_kwargs["agent_func_path"] == str(PLUGIN) and engine_kwargs["remote_rm_url"] == ["agent"]
    assert engine_kwargs["logprobs_mode"] == "processed_logprobs"  # temperature-scaled, as the trainer computes
    assert h.calls["init"] == [(str(tiny_model_dir), 2)]  # the recipe's steps drive the LR schedule
    # two steps: each pushes exactly S slots to the actor, one optimizer step, one weight sync
    assert sum(h.calls["append"]) == 2 * S and h.calls["fit"] == [S // 2, S // 2]
    assert len(h.calls["broadcast"]) == 2 and h.calls["save_model"] == [1]
    assert len(h.calls["engine.wake_up"]) >= 4 and len(h.calls["engine.sleep"]) == 2  # sleep/wake around rollouts
    # checkpoints carry the paragraph cursor, so a resumed run continues the stream
    tags = [(tag, cs["global_step"], cs["data_loader_state_dict"]["position"])
            for tag, cs in h.calls["save_checkpoint"]]
    assert [t[:2] for t in tags] == [("global_step1", 1), ("global_step2", 2)]
    s1, s2 = h.statuses
    for st in (s1, s2):
        assert st["pz/generator_samples"] == 6.0 and st["pz/predictor_samples"] == 8.0  # as in the step tests
        assert st["pz/padding_frac"] == pytest.approx((S - 14) / S)
        assert st["rollout/num_samples"] == 14.0 and st["reward"] == pytest.approx(st["rollout/reward_mean"])
        assert torch.isfinite(torch.tensor(st["policy_loss"])) and st["actor_grad_norm"] > 0
        # the training forward and the engine agree on every real token: the action mask is aligned,
        # and after step 1 the engine holds the updated weights (weight sync)
        assert st["pz/logprob_gap"] < 1e-4
    assert s1["pz/skipped"] == 0.0 and "timing/broadcast" in s1


def test_metrics_file_and_a_one_step_resume(orl, monkeypatch, tmp_path, tiny_model_dir, corpus):
    first = Harness(orl, tiny_model_dir, game)
    rc, err = run(orl, monkeypatch, first, write_recipe(tmp_path, tiny_model_dir, corpus),
                  argv(tiny_model_dir, tmp_path))
    assert rc == 0, err
    metrics = tmp_path / "ckpt" / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["global_step"] for r in rows] == [1, 2] and rows[0]["pz/predictor_samples"] == 8.0
    with open(metrics, "a") as f:  # a step 3 that ran but was never checkpointed, then a torn line
        f.write(json.dumps({**rows[1], "global_step": 3}) + "\n" + '{"global_st')
    again = Harness(orl, tiny_model_dir, game)
    rc, err = run(orl, monkeypatch, again, write_recipe(tmp_path, tiny_model_dir, corpus, steps=3),
                  argv(tiny_model_dir, tmp_path, "--ckpt.load_enable"))
    assert rc == 0, err
    assert again.calls["fit"] == [S // 2]  # exactly one more step
    assert len(again.calls["broadcast"]) == 2  # the resumed weights first, then after the update
    (tag, states), = again.calls["save_checkpoint"]
    assert tag == "global_step3" and states["data_loader_state_dict"]["epoch"] == 2  # the stream went on (2 paragraphs)
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [r["global_step"] for r in rows] == [1, 2, 3]  # step 3 redone once, not twice


def test_weight_sync_is_what_keeps_the_gap_small(orl, monkeypatch, tmp_path, tiny_model_dir, corpus):
    h = Harness(orl, tiny_model_dir, game)
    h.actor_class.broadcast_to_vllm = lambda self: h.calls["broadcast"].append(0)  # no copy to the engine
    rc, err = run(orl, monkeypatch, h, write_recipe(tmp_path, tiny_model_dir, corpus),
                  argv(tiny_model_dir, tmp_path, "--actor.adam.lr", "0.5"))
    assert rc == 0, err
    assert h.statuses[0]["pz/logprob_gap"] < 1e-4 < h.statuses[1]["pz/logprob_gap"]


def test_all_filtered_step_skips_the_update_cleanly(orl, monkeypatch, tmp_path, tiny_model_dir, corpus):
    h = Harness(orl, tiny_model_dir, lambda prompt, k: "I refuse")  # no valid mask: every group has reward 0
    rc, err = run(orl, monkeypatch, h, write_recipe(tmp_path, tiny_model_dir, corpus),
                  argv(tiny_model_dir, tmp_path))
    assert rc == 0, err
    assert h.calls["append"] == [] and h.calls["fit"] == [] and h.calls["broadcast"] == []
    assert [st["pz/skipped"] for st in h.statuses] == [1.0, 1.0]
    assert h.statuses[0]["pz/mask_valid_rate"] == 0.0 and h.statuses[0]["pz/padding_frac"] == 1.0
    assert [tag for tag, _ in h.calls["save_checkpoint"]] == ["global_step1", "global_step2"]  # the run goes on
    assert len(h.calls["engine.sleep"]) == 2


@pytest.mark.parametrize("extra,message", [
    (["--algo.kl.init_coef", "0.01"], "without KL"),
    (["--rollout.temperature", "0.7"], "--rollout.temperature 0.7 differs from the recipe's temperature: 1.0"),
    (["--train.batch_size", "28", "--rollout.batch_size", "7"], f"pass --train.batch_size {S} --rollout.batch_size"),
    (["--actor.eps_clip_low_high", "0.2", "0.2"], "--actor.eps_clip_low_high 0.2 0.28"),
    (["--actor.loss_agg_mode", "seq-mean-token-mean"], "pass --actor.loss_agg_mode token-mean"),
    (["--train.agent_func_path", str(ROOT / "tests" / "openrlhf_stubs.py")], "--train.agent_func_path must be"),
    (["--algo.dynamic_filtering_enable"], "filters equal-reward groups itself"),
    (["--data.max_len", "512"], "pass --data.max_len 1088"),
])
def test_inconsistent_flags_are_refused_before_engines_start(orl, monkeypatch, tmp_path, tiny_model_dir, corpus,
                                                            extra, message):
    h = Harness(orl, tiny_model_dir, game)
    rc, err = run(orl, monkeypatch, h, write_recipe(tmp_path, tiny_model_dir, corpus),
                  argv(tiny_model_dir, tmp_path, *extra))
    assert rc == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
    assert h.calls["create_vllm_engines"] == [] and h.groups == [] and h.trainers == []


def test_recipe_problems_are_refused_in_one_line(orl, monkeypatch, tmp_path, tiny_model_dir, corpus):
    h = Harness(orl, tiny_model_dir, game)
    rc, err = run(orl, monkeypatch, h, write_recipe(tmp_path, tiny_model_dir, corpus, predictor_reward="likelihood"),
                  argv(tiny_model_dir, tmp_path))
    assert rc == 2 and "likelihood" in err and h.calls["create_vllm_engines"] == []
    monkeypatch.delenv(orl.train_ppo_ray.RECIPE_ENV)
    err = io.StringIO()
    with redirect_stderr(err):
        assert orl.train_ppo_ray.main([]) == 2
    assert "PRETRAINZERO_RECIPE" in err.getvalue()

