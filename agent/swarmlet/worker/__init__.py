"""The worker: the session with the dispatcher, and the executor that runs the assigned
tasks as containers on the local Docker Engine."""
