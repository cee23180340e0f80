"""`vf-eval pretrainzero-vf` resolves through verifiers' own loader. Run: pytest tests/test_verifiers_entry.py"""

import pytest

vf = pytest.importorskip("verifiers.v1")


def test_verifiers_loader_finds_the_top_level_module():
    from verifiers.v1.utils.loaders import taskset_config_type

    cfg = taskset_config_type("pretrainzero-vf")(
        id="pretrainzero-vf", env_id="pretrainzero/wiki-vital-en-MaskedSpan-v1", num_tasks=3
    )
    tasks = list(vf.load_taskset(cfg))
    assert len(tasks) == 3
    for task in tasks:
        masked_paragraph = task.data.prompt.split("\n")[1]
        assert task.data.answer and "[mask]" in masked_paragraph
        assert task.data.answer not in masked_paragraph.replace("[mask]", "\0")
