"""Local machines: several hosts on one Linux box (the counterpart of docker-machine).

A machine is a network namespace on the underlay bridge plus its own mount and UTS
namespaces, its own sshd, and private /etc/swarmlet, /var/lib/swarmlet, /run/swarmlet and
/opt/swarmlet. See docs/machines.md.
"""
