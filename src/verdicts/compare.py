"""Predicted against observed ranks: which pre-RL signal ranks checkpoints by RL outcome.

Input, one row per checkpoint (CSV or JSON list, or JSON {"rows": [...]}):

  name            checkpoint label (optional)
  seed            seed label; rows sharing a seed are demeaned together (optional)
  depth           SFT depth in epochs (optional)
  pre_pass_at_1   pre-RL pass@1 at T = 1
  entropy         pre-RL mean token entropy, nats (stage 1)
  pre_pass_at_10, pre_pass_at_64   pre-RL pass@k (optional)
  adv_var         E[sigma^2] = p(1-p)(g-1)/g; computed from pre_pass_at_1 when absent
  entropy_step10  entropy at RL step 10 (optional)
  stage2_drop     relative entropy drop from RL step 10 to 150 (optional)
  <outcome>       the observed post-RL outcome, default column post_pass_at_10

Every numeric column other than the outcome, the labels and `<column>_se` standard errors is a
predictor.
Cells ``n/a``, ``NA``, ``-`` or empty are missing; a column of text only is a label.

What is reported, and why (issue 15):
- each predictor's seed-demeaned Spearman rho with its permutation p (exact for small n,
  within seeds when there are seeds), an interval with honest coverage (Fisher-z with the
  Bonett-Wright variance for n <= 15, percentile bootstrap above) and the power of the test
  at this n against the observed rho;
- predictors ordered by |rho|, each beside the sign the paper's hypothesis expects
  (``EXPECTED_SIGN``); a predictor that is a monotone function of another over these rows
  (adv_var of pre_pass_at_1 below p = 1/2) is marked ``monotone_of`` and not ranked;
- the inversion of the pre-RL pass@1 ranking as one of ``INVERSION_CALLS``: "inversion"
  (rho < 0 with p <= alpha), "trend, not significant at this n" (rho < 0, alpha < p < 0.1),
  "no evidence of an ordering" (rho < 0, p >= 0.1) or "none" (rho >= 0); the boolean
  ``inversion`` is true only for the significant call.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from rankinv import theory
from rankinv.errors import UserError
from rankinv.theory import paper, ranks
from rankinv.theory.outcomes import NO_EVIDENCE, inversion_call
from rankinv.verdicts.compare_result import CompareResult, Predictor, StageRow
from rankinv.verdicts.tables import number, row_label

LABEL_COLUMNS = ("name", "seed", "depth")
#: Significance level of the inversion call.
ALPHA = 0.05
INVERSION_CALLS = ("inversion", "trend, not significant at this n", NO_EVIDENCE, "none")
#: The sign of rho(predictor, post-RL outcome) each predictor is expected to have, and why.
EXPECTED_SIGN = {
    "entropy": (+1, "paper: higher pre-RL entropy, better post-RL outcome"),
    "entropy_prompt": (+1, "paper: higher pre-RL entropy, better post-RL outcome"),
    "entropy_step10": (+1, "paper: higher early-RL entropy, better outcome"),
    "pre_pass_at_1": (-1, "paper: rank inversion, higher pre-RL pass@1, worse outcome"),
    "stage2_drop": (-1, "paper: a larger entropy drop, a worse outcome"),
    "entropy_rollout": (+1, "rank's sign: higher rollout entropy, better post-RL outcome"),
    "pre_pass_at_64": (+1, "coverage: more problems within reach, better outcome"),
    "adv_var": (+1, "dead-zone theory: more advantage variance, more gradient signal"),
}
#: Columns that are functions of another column (compare derives adv_var when absent).
DERIVED_FROM = {"adv_var": "pre_pass_at_1"}
TAU_H = paper.TAU_H
STAGE2_THRESHOLD = paper.DROP_THRESHOLD


def load_paper() -> dict:
    return json.loads(paper.tables_path().read_text())


def example(name: str) -> dict:
    data = load_paper()
    if name not in data["examples"]:
        raise UserError(f"example must be one of {sorted(data['examples'])}, got {name!r}")
    ex = dict(data["examples"][name])
    ex["citation"] = data["citation"]
    return ex


def _numeric_columns(rows: list[dict], present: set[str]) -> list[str]:
    """Columns with at least one number; a column of text only is a label, not a predictor."""
    out = []
    for key in sorted(present):
        vals = [r.get(key) for r in rows if r.get(key) is not None]
        if vals and any(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            out.append(key)
    return out


def _column(rows, key) -> np.ndarray | None:
    vals = [number(r.get(key), key, i) for i, r in enumerate(rows)]
    if any(v is None for v in vals):
        return None
    return np.asarray(vals, dtype=float)


def _monotone_pairs(cols: dict[str, list[float | None]]) -> dict[str, dict]:
    """Predictors that carry no rank information of their own over these rows.

    ``{predictor: {"monotone_of": other, "sign": +1 | -1, "derived": bool}}``: a column
    derived from another (``DERIVED_FROM``, e.g. adv_var = p(1 - p)(g - 1)/g of pre_pass_at_1)
    whose ranks match it exactly is a monotone copy (``derived`` true; dropped from the
    ranking). Two measured columns whose ranks happen to match exactly are reported too
    (``derived`` false; both stay ranked: at n = 5 this happens by chance one time in 60).
    """
    from scipy import stats  # here: scipy.stats takes ~0.7 s to import

    out: dict[str, dict] = {}
    keys = sorted(cols, key=lambda k: (k in DERIVED_FROM, k not in EXPECTED_SIGN, k))
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if b in out and (out[b]["derived"] or DERIVED_FROM.get(b) != a):
                continue  # a derived column's match with its own source outranks a chance one
            both = [(u, v) for u, v in zip(cols[a], cols[b], strict=True) if None not in (u, v)]
            if len(both) < 3:
                continue
            xa, xb = np.array(both).T
            if np.ptp(xa) == 0 or np.ptp(xb) == 0:
                continue
            r = stats.spearmanr(xa, xb).statistic
            if abs(r) >= 1 - 1e-12:
                out[b] = {
                    "monotone_of": a,
                    "sign": 1 if r > 0 else -1,
                    "derived": DERIVED_FROM.get(b) == a,
                }
    return out


def _checked_table(rows, outcome: str, group_size: int, source: str | None = None):
    """The table compare reads, checked: (rows, with adv_var derived from pre_pass_at_1
    where absent; the outcome column; the seed of each row, or None without two seeds; the
    predictor columns; every column present)."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UserError("rows must be a list of row objects (dicts)")
    if len(rows) < 3:
        raise UserError(f"compare needs at least 3 checkpoints, got {len(rows)}")
    present = set().union(*(r.keys() for r in rows))
    if len(present) == 1 and any(d in next(iter(present)) for d in ";\t|"):
        raise UserError(f"could not split the columns of {next(iter(present))!r}")
    if outcome not in present:
        raise UserError(f"missing outcome column {outcome!r}; columns there: {sorted(present)}")
    y = _column(rows, outcome)
    if y is None:
        missing = [
            f"{i + 1} ({row_label(r, i)})" for i, r in enumerate(rows) if r.get(outcome) is None
        ]
        raise UserError(
            f"{source + ': ' if source else ''}outcome column {outcome!r} has missing values "
            f"(data row{'s' if len(missing) > 1 else ''} {', '.join(missing)}); give every "
            "checkpoint an outcome or leave its row out"
        )
    seeds = [r.get("seed") for r in rows]
    groups = seeds if all(s is not None for s in seeds) and len(set(seeds)) > 1 else None
    rows = [dict(r) for r in rows]
    numeric = _numeric_columns(rows, present)
    if "adv_var" not in present and "pre_pass_at_1" in numeric:
        p1 = _column(rows, "pre_pass_at_1")
        if p1 is not None:
            for r, v in zip(rows, theory.advantage_variance(p1, group_size), strict=True):
                r["adv_var"] = float(v)
            present.add("adv_var")
            numeric.append("adv_var")
    # a <column>_se column is that column's standard error (as rank reads it), not a signal
    pred_keys = [k for k in numeric if k not in (outcome, *LABEL_COLUMNS) and not k.endswith("_se")]
    return rows, y, groups, pred_keys, present


def _predictor(key: str, x: list, y, groups, n_bootstrap: int, seed: int) -> Predictor:
    """One predictor's (seed-demeaned) Spearman rho against the outcome over the rows where
    it has a value, beside the sign the paper's hypothesis expects; rho None (and an error)
    with fewer than 3 values or no ordering."""
    sub = [
        (v, yy, g)
        for v, yy, g in zip(x, y, groups or [None] * len(x), strict=True)
        if v is not None
    ]
    exp = EXPECTED_SIGN.get(key)
    expected = exp[0] if exp else None

    def undefined(error: str) -> Predictor:
        return Predictor(None, None, None, None, len(sub), None, expected, None, error=error)

    if len(sub) < 3:
        return undefined(f"only {len(sub)} rows with a value (needs 3)")
    g_ = [s[2] for s in sub] if groups else None
    if g_ is not None and len(set(g_)) < 2:
        g_ = None
    try:
        res = theory.spearman(
            [s[0] for s in sub],
            [s[1] for s in sub],
            groups=g_,
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
    except ValueError as exc:
        return undefined(str(exc))
    # None where the permutation test cannot reach alpha at all on these rows
    reachable = res.min_p_value is None or res.min_p_value <= ALPHA
    return Predictor(
        rho=res.rho,
        ci_low=res.ci_low,
        ci_high=res.ci_high,
        p_value=res.p_value,
        n=res.n,
        min_detectable_rho=ranks.min_detectable_rho(res.n) if reachable else None,
        expected_sign=expected,
        agrees=None if exp is None or res.rho == 0 else bool(np.sign(res.rho) == exp[0]),
        demeaned=res.demeaned,
        ci_method=res.ci_method,
        p_method=res.p_method,
        min_p_value=res.min_p_value,
        n_to_detect=ranks.n_to_detect(res.rho),
    )


def _strength(kv: tuple[str, Predictor]) -> tuple:
    """Predictors in order: defined first, by |rho|, then p, monotone copies last."""
    v = kv[1]
    return (v.rho is None, -abs(v.rho or 0.0), v.p_value or 1.0, bool(v.monotone_of), kv[0])


def h_column(present: set) -> str:
    """The column the paper's H screen reads: entropy_prompt where given (the prompt-token
    entropy, by name), else a plain entropy column, read as the paper's H."""
    return "entropy_prompt" if "entropy_prompt" in present else "entropy"


def h_warnings(present: set) -> list[str]:
    """A table naming both: which one the H screen read."""
    if not {"entropy", "entropy_prompt"} <= present:
        return []
    return [
        "the table has both entropy and entropy_prompt: the paper's H screen reads "
        "entropy_prompt (prompt tokens); entropy is ranked as a predictor as given (a rollout "
        "entropy is named entropy_rollout)"
    ]


def _stage_rows(rows: list[dict], y, group_size: int, h_key: str) -> list[StageRow]:
    """Per checkpoint, the paper's H screen (``h_key`` < tau_H) and stage-2 flag (entropy
    drop > 0.5), the risk from them, validate's own risk where the row came from a probe,
    its headroom pass@1 / p*(g), beside its observed rank."""
    from scipy import stats

    ps = theory.p_star(group_size)
    observed_rank = stats.rankdata(-y, method="min").astype(int)  # ties share the better rank
    stage = []
    for i, (r, rank) in enumerate(zip(rows, observed_rank, strict=True)):
        h = number(r.get(h_key), h_key, i)
        drop = number(r.get("stage2_drop"), "stage2_drop", i)
        pp1 = number(r.get("pre_pass_at_1"), "pre_pass_at_1", i)
        s1 = None if h is None else bool(h < TAU_H)
        s2 = None if drop is None else bool(drop > STAGE2_THRESHOLD)
        flags = [f for f in (s1, s2) if f is not None]
        stage.append(
            StageRow(
                name=row_label(r, i),
                depth=r.get("depth"),
                seed=r.get("seed"),
                entropy=h,
                paper_h_screen_flag=s1,
                stage2_drop=drop,
                stage2_flag=s2,
                headroom=None if pp1 is None else pp1 / ps,
                below_p_star=None if pp1 is None else bool(pp1 < ps),
                paper_screen_risk=None
                if not flags
                else ("high" if all(flags) else "medium" if any(flags) else "low"),
                validate_risk=_text(r.get("validate_risk")),
                validate_risk_signal=_text(r.get("validate_risk_signal")),
                outcome=float(y[i]),
                observed_rank=int(rank),
            )
        )
    return stage


def _text(v) -> str | None:
    return v if isinstance(v, str) and v else None


def compare(
    rows: list[dict],
    outcome: str = "post_pass_at_10",
    group_size: int | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
    source: str | None = None,
    recorded_group_size: int | None = None,
    warnings: list[str] | None = None,
) -> CompareResult:
    """Seed-demeaned Spearman of every predictor against the outcome, inversion, verdicts.
    ``group_size``: the g of p*(g) (adv_var, headroom); None: the paper's, and said so.
    ``source``: the file read, named in errors and in the result.
    ``recorded_group_size``: the g the probes recorded (``compare --probes``), used where
    ``group_size`` is None; ``warnings``: what the table's reader left out.

    JSON fields: predictors (ordered by |rho|; each: rho, ci_low, ci_high, ci_method,
    p_value, p_method, n, min_detectable_rho (the smallest |rho| this n detects with 80%
    power at alpha 0.05), n_to_detect (the rows that would detect the observed |rho|),
    expected_sign, agrees, monotone_of, same_ranks_as, p_holm: p Holm-adjusted over the
    predictors tested), baselines (the free answers' orderings
    scored the same way: least-/most-trained from a depth column, best/lowest pre-RL pass@1;
    a random pick has rho 0 in expectation),
    inversion (bool, the significant call only), inversion_call, inversion_p, alpha, n,
    favoured_predictor (the largest |rho| that is not a monotone copy), favoured_sign,
    favoured_significant (by its p_holm: Holm over the predictors tested), predictor_order,
    stage (per checkpoint the paper's screens, and validate's risk where known, beside the
    observed rank), group_size_assumed,
    group_size_recorded (g from the probes' planned run), warnings.
    """
    recorded = group_size is None and recorded_group_size is not None
    if recorded:
        group_size = recorded_group_size
    assumed = group_size is None
    group_size = paper.GROUP_SIZE if assumed else group_size
    rows, y, groups, pred_keys, present = _checked_table(rows, outcome, group_size, source)
    cols = {k: [number(r.get(k), k, i) for i, r in enumerate(rows)] for k in pred_keys}
    predictors = {k: _predictor(k, cols[k], y, groups, n_bootstrap, seed) for k in pred_keys}
    if not predictors:
        raise UserError(
            f"no numeric predictor column with at least 3 values; columns there: {sorted(present)}"
        )
    for key, m in _monotone_pairs(cols).items():
        if m["derived"]:
            src = EXPECTED_SIGN.get(m["monotone_of"], (None,))[0]
            own = predictors[key].expected_sign
            conflict = None if src is None or own is None else own != m["sign"] * src
            predictors[key] = replace(
                predictors[key],
                monotone_of=m["monotone_of"],
                monotone_sign=m["sign"],
                expected_sign_conflict=conflict,
            )
        else:
            predictors[key] = replace(
                predictors[key], same_ranks_as=m["monotone_of"], same_ranks_sign=m["sign"]
            )
    predictors = dict(sorted(predictors.items(), key=_strength))
    order = [k for k, v in predictors.items() if v.rho is not None and not v.monotone_of]
    # the family: every predictor tested (monotone copies are not tested separately)
    adjusted = ranks.holm({k: predictors[k].p_value for k in order})
    predictors = {k: replace(v, p_holm=adjusted.get(k)) for k, v in predictors.items()}
    favoured = order[0] if order else None
    fav = predictors.get(favoured)
    p1 = predictors.get("pre_pass_at_1")
    rho1, p_1, mdr1 = (
        (None, None, None) if p1 is None else (p1.rho, p1.p_value, p1.min_detectable_rho)
    )
    call = inversion_call(rho1, p_1)
    return CompareResult(
        predictors=predictors,
        predictor_order=order,
        inversion=call == "inversion",
        inversion_call=call,
        inversion_rho=rho1,
        inversion_p=p_1,
        inversion_min_detectable_rho=mdr1,
        baselines=_baselines(rows, y, groups, n_bootstrap, seed),
        alpha=ALPHA,
        n=len(rows),
        outcome=outcome,
        seed_demeaned=groups is not None,
        favoured_predictor=favoured,
        favoured_sign=None if fav is None else (1 if fav.rho > 0 else -1),
        favoured_significant=bool(fav and fav.p_holm is not None and fav.p_holm <= ALPHA),
        expected_sign_basis={k: v[1] for k, v in EXPECTED_SIGN.items() if k in predictors},
        tau_h=TAU_H,
        stage2_threshold=STAGE2_THRESHOLD,
        group_size=group_size,
        group_size_assumed=assumed,
        group_size_recorded=recorded,
        stage=_stage_rows(rows, y, group_size, h_column(present)),
        rows=rows,
        source=source,
        warnings=[*(warnings or []), *h_warnings(present)],
    )


def _baselines(rows, y, groups, n_bootstrap: int, seed: int) -> dict:
    """Spearman of each free answer's ordering (verdicts.baselines) with the outcome."""
    from rankinv.verdicts import baselines

    depth = [r.get("depth") for r in rows]
    depth = (
        None
        if any(d is None for d in depth)
        else [number(d, "depth", i) for i, d in enumerate(depth)]
    )
    p1 = [r.get("pre_pass_at_1") for r in rows]
    p1 = (
        None
        if any(v is None for v in p1)
        else [number(v, "pre_pass_at_1", i) for i, v in enumerate(p1)]
    )
    out = {}
    for b in baselines.BASELINES:
        x = baselines.oriented(b, depth, p1)
        if x is None or np.ptp(x) == 0:
            continue
        try:
            res = theory.spearman(x, y, groups=groups, n_bootstrap=n_bootstrap, seed=seed)
        except UserError:  # constant within seeds, or a constant outcome: no ordering
            continue
        out[b] = {k: v for k, v in res.to_dict().items() if k not in ("power", "power_rho")}
    return out


def rows_from_probes(dirs: list[str | Path], outcomes: str | Path) -> list[dict]:
    """The rows of :func:`rankinv.verdicts.compare_probes.probe_table` (its g and warnings
    aside)."""
    from rankinv.verdicts.compare_probes import probe_table

    return probe_table(dirs, outcomes).rows
