"""Print pip constraints pinning each dependency of pyproject.toml to its floor (the `>=` version).

`python .ci/floors.py test` covers the `test` extra too. .ci/run installs with these constraints in
a virtualenv of its own and runs the fast tests there, so the floors stay the versions the code
needs: a floor set too low fails CI instead of a user's install.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
requirements = [*project["dependencies"]]
for extra in sys.argv[1:]:
    requirements += project["optional-dependencies"][extra]
floors: dict[str, Version] = {}
for line in requirements:
    requirement = Requirement(line)
    name = canonicalize_name(requirement.name)
    for spec in requirement.specifier:
        if spec.operator == ">=":  # named twice (a dependency and an extra): the higher floor holds
            floors[name] = max(floors.get(name, Version(spec.version)), Version(spec.version))
for name, version in sorted(floors.items()):
    print(f"{name}=={version}")
