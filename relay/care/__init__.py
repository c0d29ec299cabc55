"""Care: the scheduled jobs that keep a mentee from being forgotten (reminders, digests, closure).

Planners only write ``Job`` rows; handlers run one claimed job in one
transaction and queue relay-written notices on the ordinary outbound path.
Both are listed in ``relay.composition``.
"""
