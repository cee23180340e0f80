"""`pretrainzero train --backend openrlhf`: recipe -> OpenRLHF flags, refusals, dry run (no openrlhf needed)."""

from __future__ import annotations

import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pretrainzero.cli import main
from pretrainzero.openrlhf.batch import fixed_batch_size, raw_step_samples
from pretrainzero.openrlhf.launch import (
    BatchLayout,
    Refused,
    _flag_values,
    model_path,
    plan,
    plugin_path,
    warmup_ratio,
)
from pretrainzero.rl.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ROOT / "agents"
PAPER = ("paper-qwen3-4b", "paper-qwen3-8b", "paper-qwen3-30b-a3b", "paper-smollm3-3b")
OPENRLHF_RECIPES = sorted(p.stem for p in AGENTS.glob("*.yaml") if "openrlhf" in (yaml.safe_load(p.read_text()) or {}))


def flags_of(recipe_name: str, tmp_path: Path, overrides=(), **kw) -> tuple[dict[str, list[str]], object]:
    launch = plan(load_recipe(AGENTS / f"{recipe_name}.yaml", overrides), AGENTS / f"{recipe_name}.yaml",
                  out=tmp_path / "run", **kw)
    return _flag_values(launch.flags), launch


# ----------------------------------------------------------------------------- batch arithmetic


def test_fixed_batch_size_is_the_smallest_common_multiple_above_the_bound():
    assert fixed_batch_size(2304, n=8, dp=8, train_micro=4, rollout_micro=8) == 2304
    assert fixed_batch_size(2304, n=8, dp=16, train_micro=2, rollout_micro=8) == 2304
    # lcm(8, 3*2, 3*4) = 24 -> 100 rounds up to 120
    assert fixed_batch_size(100, n=8, dp=3, train_micro=2, rollout_micro=4) == 120
    for samples in range(1, 300, 7):
        for n, dp, tm, rm in ((8, 8, 4, 8), (4, 1, 4, 8), (6, 3, 2, 5)):
            s = fixed_batch_size(samples, n=n, dp=dp, train_micro=tm, rollout_micro=rm)
            assert s >= samples and s % n == 0 and s % (dp * tm) == 0 and s % (dp * rm) == 0
            assert s - samples < math.lcm(n, dp * tm, dp * rm)
    with pytest.raises(ValueError, match="dp must be >= 1"):
        fixed_batch_size(10, n=2, dp=0, train_micro=1, rollout_micro=1)


def test_samples_bound_per_mode(tmp_path):
    def bound(*overrides):
        return raw_step_samples(load_recipe(AGENTS / "paper-qwen3-4b.yaml", overrides))

    assert bound() == 32 * 8 + 32 * 8 * 8
    assert bound("mode=random-rlpt", "random_masks_per_paragraph=2") == 32 * 2 * 8
    assert bound("g_gen=1", "random_masks_per_paragraph=4", "cold_start_steps=5") == 32 * 4 * 8
    launch = plan(load_recipe(AGENTS / "openrlhf-smoke-1gpu.yaml"), AGENTS / "openrlhf-smoke-1gpu.yaml",
                  out=tmp_path, python="python")
    assert launch.layout == BatchLayout(samples=80, size=80, n=4, dp=1, train_micro=4, rollout_micro=8)
    assert launch.layout.rollout_batch_size == 20


@pytest.mark.parametrize("total", [1, 7, 100, 1900, 2000, 12345])
def test_warmup_ratio_gives_exactly_the_recipe_warmup_under_openrlhfs_ceil(total):
    for w in range(min(total, 400) + 1):
        assert math.ceil(total * warmup_ratio(w, total)) == w
    assert warmup_ratio(20, 2000) == 0.00975


# ----------------------------------------------------------------------------- the mapping


def test_every_openrlhf_recipe_loads_and_the_paper_ones_exist():
    assert set(PAPER) | {"openrlhf-smoke-1gpu"} <= set(OPENRLHF_RECIPES)
    for name in OPENRLHF_RECIPES:
        assert load_recipe(AGENTS / f"{name}.yaml").openrlhf is not None


@pytest.mark.parametrize("name", PAPER)
def test_paper_recipes_golden_values(name, tmp_path):
    f, launch = flags_of(name, tmp_path)
    assert launch.argv[1:3] == ("-m", "pretrainzero.openrlhf.train_ppo_ray")
    assert launch.env == {"PRETRAINZERO_RECIPE": str(AGENTS / f"{name}.yaml")}
    assert f["--rollout.n_samples_per_prompt"] == ["8"]
    assert f["--actor.adam.lr"] == ["5e-07"] and float(f["--actor.adam.lr"][0]) == 5e-7
    assert f["--algo.kl.init_coef"] == ["0"]
    assert f["--actor.eps_clip_low_high"] == ["0.2", "0.28"]
    assert f["--actor.loss_agg_mode"] == ["token-mean"]
    assert f["--algo.advantage.estimator"] == ["group_norm"]
    assert f["--train.batch_size"] == ["2304"] and f["--rollout.batch_size"] == ["288"]
    assert f["--train.max_epochs"] == ["1"]
    assert f["--actor.lr_scheduler"] == ["cosine_with_min_lr"] and f["--actor.min_lr_ratio"] == ["0"]
    assert math.ceil(2000 * float(f["--actor.lr_warmup_ratio"][0])) == 20
    assert f["--data.max_len"] == [str(1536 + 4096)] and f["--rollout.max_new_tokens"] == ["4096"]
    assert f["--rollout.temperature"] == ["1"] and f["--rollout.top_p"] == ["1"]
    assert f["--ds.param_dtype"] == ["bf16"] and f["--ds.zero_stage"] == ["3"]
    assert "--train.colocate_all" in f and "--vllm.enable_sleep" in f and "--ds.enable_sleep" in f
    assert f["--actor.num_gpus_per_node"] == ["8"]
    gpus = int(f["--actor.num_nodes"][0]) * 8
    assert int(f["--vllm.num_engines"][0]) * int(f["--vllm.tensor_parallel_size"][0]) == gpus
    tm, rm = int(f["--train.micro_batch_size"][0]), int(f["--rollout.micro_batch_size"][0])
    assert 2304 % (gpus * tm) == 0 and 2304 % (gpus * rm) == 0
    assert f["--train.agent_func_path"] == [str(plugin_path("two-role"))]
    assert f["--ckpt.path"] == [str(tmp_path / "run" / "ckpt")] and f["--ckpt.save_steps"] == ["100"]
    assert "--ckpt.load_enable" not in f
    assert launch.warnings == ()


def test_placement_overrides_resume_and_ray_job_submit(tmp_path):
    f, launch = flags_of("paper-qwen3-4b", tmp_path, nodes=4, gpus_per_node=8, resume=True)
    assert f["--actor.num_nodes"] == ["4"] and f["--vllm.num_engines"] == ["32"]
    # dp = 32: lcm(8, 32*4, 32*8) = 256 -> 2304 is 9 x 256
    assert f["--train.batch_size"] == ["2304"] and "--ckpt.load_enable" in f
    line = launch.ray_job_submit("http://10.1.2.3:8265")
    words = shlex.split(line)
    assert words[:4] == ["ray", "job", "submit", "--address"] and words[4] == "http://10.1.2.3:8265"
    assert json.loads(words[6]) == {"env_vars": {"PRETRAINZERO_RECIPE": str(AGENTS / "paper-qwen3-4b.yaml")}}
    assert words[7:10] == ["--", "python", "-m"] and words[11:] == list(launch.flags)
    f3, _ = flags_of("paper-qwen3-4b", tmp_path, nodes=1, gpus_per_node=3)
    # dp = 3: lcm(8, 12, 24) = 24 -> 2304 = 96 x 24
    assert f3["--train.batch_size"] == ["2304"] and f3["--vllm.num_engines"] == ["3"]
    f5, _ = flags_of("paper-qwen3-4b", tmp_path, nodes=1, gpus_per_node=5)
    assert f5["--train.batch_size"] == [str(fixed_batch_size(2304, n=8, dp=5, train_micro=4, rollout_micro=8))]
    assert int(f5["--train.batch_size"][0]) == 2320  # lcm(8, 20, 40) = 40


REFUSALS = [
    (["dtype=float32"], "dtype: float32"),
    (["predictor_reward=likelihood"], "likelihood"),
    (["sft={steps: 5}"], "sft: section"),
    (["openrlhf.temperature=0.7"], "rollout temperature 0.7 differs"),
    (["openrlhf.extra_args=[--rollout.temperature, '0.6']"], "rollout temperature 0.6 differs"),
    (["openrlhf.kl_coef=0.001"], "KL > 0"),
    (["openrlhf.extra_args=[--algo.kl.use_loss]"], "KL > 0"),
    (["openrlhf.estimator=gae"], "gae needs a critic"),
    (["openrlhf.max_epochs=2"], "max_epochs 2"),
    (["openrlhf.async_train=true"], "async"),
    (["openrlhf.extra_args=[--train.async_enable]"], "async"),
    (["openrlhf.agent_func_path=/nonexistent/agent.py"], "agent plug-in /nonexistent/agent.py not found"),
    (["openrlhf.vllm_engines=3"], "colocate needs vLLM engines"),
    (["openrlhf.extra_args=[--train.batch_size, '64']"], "extra_args sets --train.batch_size"),
    (["openrlhf.packing=true", "openrlhf.attn_implementation=sdpa"], "packing needs a flash_attention"),
    (["openrlhf.agent=stock"], "needs openrlhf.prompt_dataset"),
]


@pytest.mark.parametrize("overrides,message", REFUSALS, ids=[m for _, m in REFUSALS])
def test_refusals_are_one_clear_line(overrides, message, tmp_path, capsys):
    with pytest.raises(Refused, match=message.replace("(", r"\(")):
        flags_of("paper-qwen3-4b", tmp_path, overrides)
    argv = ["train", "--backend", "openrlhf", "--recipe", str(AGENTS / "paper-qwen3-4b.yaml"), "--dry-run",
            "--out", str(tmp_path / "cli")]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_a_recipe_without_openrlhf_section_is_refused(tmp_path, capsys):
    assert main(["train", "--backend", "openrlhf", "--recipe", str(AGENTS / "smollm2-135m-cpu.yaml"),
                 "--dry-run"]) == 2
    assert "has no openrlhf: section" in capsys.readouterr().err


def test_fields_that_do_not_apply_warn(tmp_path, capsys):
    _, launch = flags_of("paper-qwen3-4b", tmp_path,
                         ["device=cuda", "heldout_n=7", "algorithm=rloo", "algorithm_kwargs={}"])
    text = "\n".join(launch.warnings)
    assert "'device'" in text and "'heldout_n'" in text and "'rloo'" in text and "approximates" in text
    assert main(["train", "--backend", "openrlhf", "--recipe", str(AGENTS / "paper-qwen3-4b.yaml"), "--dry-run",
                 "--set", "device=cuda", "--out", str(tmp_path / "w")]) == 0
    assert "warning: recipe field 'device' does not apply" in capsys.readouterr().err


def test_embedded_backend_rejects_openrlhf_only_flags(capsys):
    assert main(["train", "--recipe", str(AGENTS / "paper-qwen3-4b.yaml"), "--dry-run"]) == 2
    assert "--dry-run needs --backend openrlhf" in capsys.readouterr().err


def test_overrides_are_handed_to_the_trainer_as_a_resolved_recipe_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--backend", "openrlhf", "--recipe", str(AGENTS / "paper-qwen3-4b.yaml"), "--dry-run",
                 "--out", str(out), "--steps", "500", "--set", "g_pred=4"]) == 0
    line = capsys.readouterr().out.strip()
    written = out / "recipe.yaml"
    assert line.startswith(f"PRETRAINZERO_RECIPE={written.resolve()} ")
    again = load_recipe(written)
    assert again == load_recipe(AGENTS / "paper-qwen3-4b.yaml", ["steps=500", "g_pred=4"])
    f = _flag_values(shlex.split(line)[3:])
    assert f["--rollout.n_samples_per_prompt"] == ["4"]
    assert f["--train.batch_size"] == [str(fixed_batch_size(32 * 8 * 5, n=4, dp=8, train_micro=4, rollout_micro=8))]


def test_stock_path_runs_plain_openrlhf_over_an_exported_prompt_file(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"p{i}", "label": "{}"}) + "\n" for i in range(32 * 250)))
    f, launch = flags_of("openrlhf-smoke-1gpu", tmp_path,
                         ["openrlhf.agent=stock", f"openrlhf.prompt_dataset={prompts}", "paragraphs_per_step=32",
                          "g_pred=8", "steps=1000", "filter_groups=true"])
    assert launch.argv[1:3] == ("-m", "openrlhf.cli.train_ppo_ray") and launch.env == {}
    assert f["--train.agent_func_path"] == [str(plugin_path("stock"))]
    assert f["--data.prompt_dataset"] == [str(prompts)] and f["--data.label_key"] == ["label"]
    assert f["--data.input_key"] == ["prompt"] and "--data.apply_chat_template" in f
    assert f["--rollout.batch_size"] == ["32"] and f["--train.batch_size"] == ["256"]
    # 8000 prompts x 8 / 256 = 250 steps per pass -> 4 passes for 1000 steps
    assert f["--train.num_episodes"] == ["4"]
    assert f["--algo.dynamic_filtering_enable"] == [] and f["--algo.dynamic_filtering_range"] == ["0", "1"]
    assert any("'g_gen'" in w for w in launch.warnings)  # the game's fields do not apply to one env


def test_dry_run_imports_neither_ray_nor_openrlhf(tmp_path):
    recipe = AGENTS / "paper-qwen3-4b.yaml"
    argv = ["train", "--backend", "openrlhf", "--recipe", str(recipe), "--dry-run", "--out", str(tmp_path / "r")]
    code = (
        "import sys\n"
        "from pretrainzero.cli import main\n"
        f"rc = main({argv!r})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'openrlhf', 'vllm', 'deepspeed'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1 and " -m pretrainzero.openrlhf.train_ppo_ray " in lines[0]


def readme_commands(section: str = "## Many GPUs") -> list[list[str]]:
    """The shell commands of a README section's bash blocks (continuations joined, comments dropped)."""
    text = (ROOT / "README.md").read_text()
    body = text[text.index(section):]
    body = body[:body.index("\n## ", 1)]
    commands = []
    for block in body.split("```bash\n")[1:]:
        code = block[:block.index("```")].replace("\\\n", " ")
        commands += [shlex.split(line, comments=True) for line in code.splitlines() if line.strip()]
    return commands


def test_readme_many_gpus_commands_run_offline_as_written(tmp_path, monkeypatch, capsys):
    (tmp_path / "agents").symlink_to(AGENTS)  # the README's relative paths, in a scratch directory
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    dry = [c for c in commands if c[:2] == ["pretrainzero", "train"] and "--dry-run" in c]
    exports = [c for c in commands if c[:2] == ["pretrainzero", "export"]]
    assert len(dry) >= 4 and len(exports) == 1
    export = exports[0]
    export[export.index("--n") + 1] = "40"  # the README's 64,000 take ~10 s; the file is the same kind
    assert main(export[1:]) == 0
    assert "wrote 40 episodes" in capsys.readouterr().out
    for argv in dry:
        assert main(argv[1:]) == 0, argv
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1 and "train_ppo_ray --actor.model_name_or_path" in out[0]
        if "--ray-address" in argv:
            assert out[0].startswith("ray job submit --address http://HEAD_IP:8265 ")
    # the first line is the "done" command: the paper's values, on one node
    f = _flag_values(shlex.split(main_line(dry[0], capsys))[3:])
    assert f["--rollout.n_samples_per_prompt"] == ["8"] and f["--actor.adam.lr"] == ["5e-07"]
    assert f["--algo.kl.init_coef"] == ["0"] and f["--train.batch_size"] == ["2304"]


def main_line(argv: list[str], capsys) -> str:
    assert argv[-1] == "--dry-run" and "paper-qwen3-4b" in " ".join(argv)
    assert main(argv[1:]) == 0
    return capsys.readouterr().out.strip().split(" ", 1)[1]  # drop the PRETRAINZERO_RECIPE=... prefix


def test_model_paths_reach_ray_workers(tmp_path, monkeypatch):
    from pretrainzero.models import cache_dir

    monkeypatch.chdir(tmp_path)
    (tmp_path / "local-model").mkdir()
    assert model_path("Qwen/Qwen3-4B-Base") == "Qwen/Qwen3-4B-Base"  # hub ids pass through
    assert model_path("local-model") == str(tmp_path / "local-model")  # workers have another cwd
    assert model_path("runs/sft/checkpoints/step-000000") == str(tmp_path / "runs/sft/checkpoints/step-000000")
    assert model_path("smollm2-135m") == str(cache_dir() / "models" / "SmolLM2-135M-Instruct")


def test_a_real_launch_refuses_a_used_out_folder_and_a_missing_gpu_stack(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("ray", "vllm", "deepspeed") else real(name, *a))
    out = tmp_path / "run"
    argv = ["train", "--backend", "openrlhf", "--recipe", str(AGENTS / "paper-qwen3-4b.yaml"), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: OpenRLHF stack missing (ray, vllm, deepspeed") and "\n" not in err
    (out / "ckpt" / "_actor").mkdir(parents=True)
    assert main(argv) == 2
    assert "already holds an OpenRLHF run" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 2  # cleared, then stopped by the missing stack
    assert not (out / "ckpt").exists() and "OpenRLHF stack missing" in capsys.readouterr().err
