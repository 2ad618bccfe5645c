"""Training any task: the train-to-store flow shared by the CLI and the server's jobs."""
