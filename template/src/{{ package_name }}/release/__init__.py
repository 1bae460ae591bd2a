"""What the release workflow runs: its offline parts, typed and tested here.

`python -m <package>.release --help` lists them: the vulnerability-ignore file's validation,
the dependency gate (`hermetic audit` at this project's template release) and, with Kubernetes
manifests, the image digests set in the overlays and the check that no placeholder digest
remains in what production deploys.
"""
