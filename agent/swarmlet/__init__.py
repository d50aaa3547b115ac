"""Swarmlet: Docker Swarm mode as an Ansible collection plus a node agent."""

__version__ = "0.1.0"
