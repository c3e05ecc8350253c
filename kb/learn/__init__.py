"""Learning from real conversations (issue 17), one concern per module:

  mask.py      personal data out of buyer messages (phones, order/ID/tracking numbers, addresses,
               names after 收件人, handles, amounts) before anything is kept or printed
  log.py       the opt-in local usage log (JSON Lines in the user data dir); ``record(...)``
  sources.py   messages from the usage log, a text file, or a CSV/JSONL chat export
  learn.py     the report (new questions, what to write next, usage) and ``apply_report``
  report.py    text / Markdown (the pull-request description) / JSON
  hits.py      batch hit-testing of an unlabelled message list (kb eval MESSAGES)

Kept light: importing kb.learn imports nothing heavy (the search path calls log.record).
"""
