"""The leader's orchestrators (SwarmKit's manager/orchestrator): pure passes from a store
snapshot to store changes. replicated, global, jobs, the restart supervisor and the task
reaper."""
