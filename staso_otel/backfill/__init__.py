"""`staso import`: sessions that ran without hooks, rebuilt from the agents' transcripts."""
