"""Fixtures of the Docker tests (docker_harness.py): the engine, the images built once per session, containers."""

from docker_harness import containers, docker, images  # noqa: F401 - fixtures, registered by import
