"""With a named signal that ties, "what would decide it" names the free answer that needs no
signal (issue 38c, a fresh-clone try: `rank ... --signal escape` said only "more samples per
prompt, or a pilot run", and its last line that escape did not beat the least-trained
checkpoint)."""

from probe_dirs import write_probe

from rankinv.verdicts.rank import rank
from rankinv.verdicts.words.rank import recommendation_lines

SAME = [3, 4, 5, 2, 3, 4, 6, 5]


def test_a_tie_under_a_named_signal_names_the_free_answer(tmp_path):
    a, b = (write_probe(tmp_path / k, k, SAME) for k in "ab")
    c = write_probe(tmp_path / "c", "c", [0, 0, 0, 1, 16, 16, 15, 14])
    res = rank([a, b, c], signal="escape", depths=[1, 2, 4])
    assert res.recommended is None and res.adds_nothing_over == "shallowest"
    last = recommendation_lines(res)[-1]
    assert last.startswith("what would decide it: more samples per prompt")
    assert last.endswith(
        "or leave out --signal: on held-out ladders escape did not beat the least-trained "
        "checkpoint, a, which needs no signal"
    )
