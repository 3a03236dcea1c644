"""The ward-day simulator (issue #22): a day of arrivals replayed through the real queue
engine and estimator on a simulated clock (docs/statistics.md). `day` holds what a day is
(arrivals, counter shifts; the trace CSV), `scenario` generates days, `driver` replays one,
`report` sums it up, `compare` measures estimate methods on it."""
