"""Task sets: a user's JSONL benchmark is checked before any model is loaded."""

import pytest

from rankinv.errors import UserError
from rankinv.sandbox import tasks


@pytest.mark.parametrize(
    "content, msg",
    [
        ("", "holds no tasks"),
        ("\n\n", "holds no tasks"),
        ("[1, 2]\n", "line 1 is not a JSON object"),
        ('{"task_id": "a"\n', "line 1 is not valid JSON"),
        ('{"task_id": "a"}\n', "row 0 lacks field"),
    ],
)
def test_a_bad_benchmark_file_is_one_line(tmp_path, content, msg):
    path = tmp_path / "bench.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=msg):
        tasks.load(str(path))


def test_a_benchmark_directory_or_missing_file_is_named(tmp_path):
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        tasks.load(str(tmp_path / "dir.jsonl"))
    with pytest.raises(FileNotFoundError, match="not found"):
        tasks.load(str(tmp_path / "none.jsonl"))
    with pytest.raises(UserError, match="unknown benchmark"):
        tasks.load("mbpp")
