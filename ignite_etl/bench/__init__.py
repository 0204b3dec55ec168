"""`ignite-etl bench`: speed and cost of the sync against the simulators, with a naive baseline in the same run.

Speed is measured here and only here; tests check that the measuring is right, never how fast it is.
"""
