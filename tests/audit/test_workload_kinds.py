"""The containers of ML workload custom resources, which checkov and kube-linter cannot read:
HM401 resources, HM402 probes where the workload serves, HM201/HM202 their images."""

from __future__ import annotations

from pathlib import Path
from textwrap import indent

from hermetic.audit.rules import images, kubernetes
from tests.audit.planting import audit, places

RESOURCES = "HM401"
PROBES = "HM402"
UNPINNED = "HM201"
FLOATING = "HM202"
DIGEST = "sha256:" + "0" * 64
SIZED = "resources: {limits: {cpu: '1', memory: 1Gi}}"


def kubernetes_findings(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    return places(audit(kubernetes.check, root, files))


def image_findings(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    return places(audit(images.check, root, files))


RUNTIME = f"pytorch/pytorch@{DIGEST}"
TRAINING = f"""
    apiVersion: kubeflow.org/v1
    kind: XGBoostJob
    metadata: {{name: xgb}}
    spec:
      xgbReplicaSpecs:
        Master:
          template:
            spec:
              containers: [{{name: xgboost, image: "xgb:1.7.6"}}]
    ---
    apiVersion: trainer.kubeflow.org/v1alpha1
    kind: TrainJob
    metadata: {{name: train}}
    spec:
      runtimeRef: {{name: torch-distributed}}
      trainer:
        image: pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime
        numNodes: 2
        resourcesPerNode:
          limits: {{nvidia.com/gpu: 1}}
      runtimePatches:
        - manager: example.com/team
          trainingRuntimeSpec:
            template:
              spec:
                replicatedJobs:
                  - name: node
                    template:
                      spec:
                        template:
                          spec:
                            initContainers:
                              - name: fetch
                                image: busybox:1.36.1
                            containers:
                              - name: node
                                volumeMounts: [{{name: data, mountPath: /data}}]
    ---
    apiVersion: trainer.kubeflow.org/v1alpha1
    kind: ClusterTrainingRuntime
    metadata: {{name: torch-distributed}}
    spec:
      template:
        spec:
          replicatedJobs:
            - name: node
              template:
                spec: {{template: {{spec: {{containers: [{{name: node, image: {RUNTIME}}}]}}}}}}
    ---
    # The generated project's: sized, pinned (a digest placeholder), nothing to report.
    apiVersion: trainer.kubeflow.org/v1alpha1
    kind: TrainJob
    metadata: {{name: train-multinode}}
    spec:
      trainer:
        image: registry.example.com/training@{DIGEST}
        resourcesPerNode: {{requests: {{cpu: "1", memory: 2Gi}}, limits: {{cpu: "2", memory: 2Gi}}}}
    ---
    apiVersion: kubeflow.org/v1alpha1
    kind: MPIJob
    metadata: {{name: horovod}}
    spec:
      template:
        spec:
          containers: [{{name: mpi, image: "horovod@{DIGEST}", resources: {{limits: {{gpu: 4}}}}}}]
    """


def test_training_jobs_and_runtimes_need_resources_and_pinned_images(tmp_path: Path) -> None:
    files = {"train.yaml": TRAINING}
    assert kubernetes_findings(tmp_path, files) == {
        (RESOURCES, "train.yaml", 9),  # XGBoostJob master
        (RESOURCES, "train.yaml", 17),  # the trainer: resourcesPerNode without cpu and memory
        (RESOURCES, "train.yaml", 33),  # an init container a runtime patch adds
        (RESOURCES, "train.yaml", 48),  # the runtime's own container
        (RESOURCES, "train.yaml", 65),  # MPIJob v1alpha1: one pod template
    }  # the patch of the runtime's `node` container names no image: not a container
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "train.yaml", 9),
        (UNPINNED, "train.yaml", 17),
        (UNPINNED, "train.yaml", 34),
    }


def test_the_trainers_message_names_resources_per_node(tmp_path: Path) -> None:
    messages = [f.message for f in audit(kubernetes.check, tmp_path, {"t.yaml": TRAINING})]
    assert "trainer of TrainJob/train sets no resourcesPerNode.requests.cpu, " in messages[1]


RAY_GROUPS = """
headGroupSpec:
  template:
    spec:
      containers:
        - name: ray-head
          image: rayproject/ray:2.9.3
          resources: {limits: {cpu: "1", memory: 1Gi}}
        - name: log-shipper
          image: fluent-bit:3.0.4
          resources: {limits: {cpu: "1", memory: 1Gi}}
workerGroupSpecs:
  - groupName: gpu
    template:
      spec:
        containers: [{name: ray-worker, image: "rayproject/ray:2.9"}]
"""


def ray(kind: str, cluster_key: str | None) -> str:
    """A KubeRay resource whose Ray cluster is RAY_GROUPS, under CLUSTER_KEY if any."""
    groups = RAY_GROUPS.strip("\n")
    body = f"  {cluster_key}:\n{indent(groups, '    ')}" if cluster_key else indent(groups, "  ")
    return f"apiVersion: ray.io/v1\nkind: {kind}\nmetadata: {{name: ray}}\nspec:\n{body}\n"


def test_ray_workloads_serve_only_as_a_ray_service_head(tmp_path: Path) -> None:
    files = {
        "ray/service.yaml": ray("RayService", "rayClusterConfig"),
        "ray/job.yaml": ray("RayJob", "rayClusterSpec"),
        "ray/cluster.yaml": ray("RayCluster", None),
    }
    assert kubernetes_findings(tmp_path, files) == {
        # KubeRay probes the Ray container itself; a sidecar of a serving head it does not.
        (PROBES, "ray/service.yaml", 13),
        (RESOURCES, "ray/service.yaml", 20),
        (RESOURCES, "ray/job.yaml", 20),
        (RESOURCES, "ray/cluster.yaml", 19),
    }
    assert (FLOATING, "ray/cluster.yaml", 19) in image_findings(tmp_path, files)


def test_rollouts_serve_and_their_analyses_are_batch(tmp_path: Path) -> None:
    # The generated project's shapes too: a Rollout by workloadRef, analyses whose placeholders
    # sit in strings, a golden-set Job sized and pinned.
    rollout = f"""
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {{name: serving}}
        spec:
          template:
            spec:
              containers:
                - name: server
                  image: app:1.0.0
                  {SIZED}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {{name: by-reference}}
        spec:
          workloadRef: {{apiVersion: apps/v1, kind: Deployment, name: serving}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {{name: golden-set}}
        spec:
          metrics:
            - name: p99-latency
              provider:
                prometheus:
                  query: |
                    histogram_quantile(0.99, rate(latency{{hash="{{{{args.canary-hash}}}}"}}[2m]))
            - name: golden-set
              provider:
                job:
                  spec:
                    template:
                      spec:
                        restartPolicy: Never
                        containers:
                          - name: canary
                            image: app@{DIGEST}
                            args: ["--baseline=http://{{{{args.stable-service}}}}"]
                          - name: sized
                            image: app@{DIGEST}
                            resources: {{limits: {{cpu: 500m, memory: 1Gi}}}}
        """
    files = {"rollout.yaml": rollout}
    assert kubernetes_findings(tmp_path, files) == {
        (PROBES, "rollout.yaml", 8),
        (RESOURCES, "rollout.yaml", 36),  # batch: no probes
    }
    assert image_findings(tmp_path, files) == {(UNPINNED, "rollout.yaml", 9)}


def test_argo_workflow_steps_are_batch_containers(tmp_path: Path) -> None:
    workflow = """
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: pipeline-}
        spec:
          templates:
            - name: pipeline
              dag: {tasks: [{name: train, template: train}]}
            - name: train
              container:
                image: trainer:v6
                args: ["{{inputs.parameters.epochs}}"]
            - name: report
              script:
                image: python:3.11.8-slim
                source: print("done")
                resources: {requests: {cpu: 100m, memory: 64Mi}}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: CronWorkflow
        metadata: {name: nightly}
        spec:
          workflowSpec:
            templates:
              - name: retrain
                container: {image: "trainer:v6", resources: {limits: {cpu: "4", memory: 8Gi}}}
        """
    files = {"workflow.yaml": workflow}
    assert kubernetes_findings(tmp_path, files) == {
        (RESOURCES, "workflow.yaml", 10),
        (RESOURCES, "workflow.yaml", 14),
    }
    messages = [f.message for f in audit(kubernetes.check, tmp_path, files)]
    assert messages[0].startswith("container of Workflow/pipeline- (template train) sets no")
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "workflow.yaml", 10),
        (FLOATING, "workflow.yaml", 10),
        (UNPINNED, "workflow.yaml", 14),
        (UNPINNED, "workflow.yaml", 25),
        (FLOATING, "workflow.yaml", 25),
    }


def test_inference_services_and_knative_services_serve(tmp_path: Path) -> None:
    serving = f"""
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: custom}}
        spec:
          predictor:
            containers:
              - name: kserve-container
                image: model-server:1.2.0
                {SIZED}
          transformer:
            containers:
              - name: transformer
                image: transformer:1.2.0
                {SIZED}
                readinessProbe: {{tcpSocket: {{port: 8000}}}}
                livenessProbe: {{tcpSocket: {{port: 8000}}}}
        ---
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata: {{name: sklearn}}
        spec:
          predictor:
            sklearn:
              storageUri: gs://models/sklearn/1.0
        ---
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {{name: hello}}
        spec:
          template:
            spec:
              containers: [{{image: "hello:1.0.0"}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: web}}
        spec: {{template: {{spec: {{containers: [{{image: "not-a-pod:latest"}}]}}}}}}
        """
    files = {"serving.yaml": serving}
    assert kubernetes_findings(tmp_path, files) == {
        (PROBES, "serving.yaml", 7),
        (RESOURCES, "serving.yaml", 24),  # a model server: sized here, probed by its runtime
        (RESOURCES, "serving.yaml", 32),
        (PROBES, "serving.yaml", 32),
    }  # a core Service is no workload, whatever it holds
    assert image_findings(tmp_path, files) == {
        (UNPINNED, "serving.yaml", 8),
        (UNPINNED, "serving.yaml", 13),
        (UNPINNED, "serving.yaml", 32),
    }
