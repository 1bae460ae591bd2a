"""Some utilities for working with Kubernetes (reproduction, abridged)."""
import logging
import re

import yaml
from kubernetes import client as k8s_client

K8S_CREATE = "K8S_CREATE"
K8S_REPLACE = "K8S_REPLACE"


def camel_to_snake(name):
  name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
  return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def apply_k8s_specs(specs, mode=K8S_CREATE):
  """Create or replace the Kubernetes objects described by SPECS (dicts or YAML text)."""
  results = []
  for s in specs:
    spec = s
    if not isinstance(spec, dict):
      spec = yaml.load(spec)

    kind_snake = camel_to_snake(spec["kind"])
    api = k8s_client.CustomObjectsApi()
    logging.info("Creating %s %s", kind_snake, spec["metadata"]["name"])
    results.append(api.create_namespaced_custom_object(
        "kubeflow.org", "v1", spec["metadata"]["namespace"], kind_snake + "s", spec))
  return results
