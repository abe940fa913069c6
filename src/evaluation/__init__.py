"""The evaluation layer: scoring of the stage-1 signals and stage-2 rules on simulated
populations (held out by setting) and on the real evidence, and the generation of the
shipped defaults (``rankinv.verdicts._calibrated``). It sits above simulate and verdicts and
takes every data path as an argument; the real evidence a user's `calibrate` needs ships in
the package (``rankinv/data/real_evidence.json``)."""
