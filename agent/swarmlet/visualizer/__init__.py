"""`swarmlet visualizer`: a live page of the swarm, a column per node and a card per task
(dockersamples/visualizer's counterpart, served by swarmlet itself, every asset local).

It is a client of the local agent like the CLI: it reads nodes, services and tasks over the
unix socket, follows the agent's event stream to know when to read again, and pushes each new
snapshot to the browsers over server-sent events. snapshot.py is pure (API shapes -> the
page's compact view), access.py decides who may look, coalesce.py turns a burst of events
into one re-read, feed.py follows the events, server.py serves the page.
"""
