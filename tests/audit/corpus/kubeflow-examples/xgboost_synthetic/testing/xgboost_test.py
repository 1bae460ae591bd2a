"""Submit the notebook-runner Job and wait for it (reproduction, abridged)."""
import logging
import os
import uuid

import yaml
from kubernetes import client as k8s_client


def test_xgboost_synthetic(name, namespace, image):
  """Generate Job and submit."""
  with open("job.yaml") as hf:
    job = yaml.load(hf)

  job["metadata"]["name"] = f"xgboost-test-{uuid.uuid4().hex[:4]}"
  job["metadata"]["namespace"] = namespace
  job["spec"]["template"]["spec"]["containers"][0]["image"] = image
  batch_api = k8s_client.BatchV1Api()
  logging.info("Created job %s", job["metadata"]["name"])
  batch_api.create_namespaced_job(job["metadata"]["namespace"], job)
  assert os.path.basename(name)
