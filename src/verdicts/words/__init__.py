"""Verdicts in words: the one place where a typed result becomes the sentences the CLI
(``rankinv.render``), the Markdown report (``rankinv.report``) and the JSON's ``reasons``
print. One module per kind of result: ``monitor`` (stage 2; ``monitor_checks``: the checks
beside its reasons), ``sweep`` (stage 2 on a sweep's runs judged against each other),
``compare`` (predicted against observed ranks), ``rank`` (rank's recommendation or why none,
and the back-test's), ``rank_table`` (rank's table and the lines under it, as the CLI and the
report show them), ``inputs`` (what rank's input readers assumed or refused), ``report`` (the
report's search for probe folders and its ladders) and ``probe`` (the stage-1 risk verdict
and the pre-RL report). Nothing here decides: every function reads a result's fields and
phrases them."""
