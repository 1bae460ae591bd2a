"""HM401 containers without resources and HM402 long-running containers without probes."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from hermetic.audit.rules import kubernetes
from tests.audit.planting import audit, places

RESOURCES = "HM401"
PROBES = "HM402"
COMPLETE_DEPLOYMENT = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      template:
        spec:
          containers:
            - name: app
              image: app:1.0.0
              resources:
                requests: {cpu: 500m, memory: 1Gi}
                limits: {cpu: "1", memory: 1Gi}
              readinessProbe: {httpGet: {path: /health/ready, port: 8000}}
              livenessProbe: {httpGet: {path: /health/live, port: 8000}}
    """


def found(root: Path, files: dict[str, str]) -> set[tuple[str, str, int]]:
    return places(audit(kubernetes.check, root, files))


def test_every_container_of_a_multi_document_file_is_checked(tmp_path: Path) -> None:
    manifests = """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              initContainers:
                - name: migrate
                  image: app:1.0.0
              containers:
                - name: complete
                  image: app:1.0.0
                  resources:
                    requests: {cpu: 500m, memory: 1Gi}
                    limits: {cpu: "1", memory: 1Gi}
                  readinessProbe: {httpGet: {path: /health/ready, port: 8000}}
                  livenessProbe: {httpGet: {path: /health/live, port: 8000}}
                - name: limits-only
                  image: app:1.0.0
                  resources: {limits: {cpu: "1", memory: 1Gi}}
                  readinessProbe: {tcpSocket: {port: 8000}}
                  livenessProbe: {tcpSocket: {port: 8000}}
                - image: app:1.0.0
                  name: bare
                - image: app:1.0.0
                  resources: {requests: {cpu: 1, memory: 1Gi}}
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: evaluate}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: evaluate
                  image: app:1.0.0
        """
    assert found(tmp_path, {"deploy/all.yaml": manifests}) == {
        (RESOURCES, "deploy/all.yaml", 13),  # an init container needs resources, not probes
        (RESOURCES, "deploy/all.yaml", 29),  # the line of its name
        (PROBES, "deploy/all.yaml", 29),
        (RESOURCES, "deploy/all.yaml", 30),  # no name: the item's line
        (PROBES, "deploy/all.yaml", 30),
        (RESOURCES, "deploy/all.yaml", 41),  # a Job is batch: no probes expected
    }


def test_messages_name_the_container_and_what_it_lacks(tmp_path: Path) -> None:
    stateful_set = """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: store}
        spec:
          template:
            spec:
              containers:
                - name: db
                  image: db:16.2.0
                  resources: {requests: {memory: 1Gi}, limits: {memory: 1Gi}}
                  livenessProbe: {tcpSocket: {port: 5432}}
                - name: cache
                  image: cache:7.2.4
                  resources: {requests: {cpu: 100m, memory: 1Gi}}
                  readinessProbe: {tcpSocket: {port: 6379}}
                  livenessProbe: {tcpSocket: {port: 6379}}
                - name: exporter
                  image: exporter:0.15.0
                  resources: {limits: {cpu: 100m, memory: 64Mi}}
        """
    messages = [
        (finding.rule_id, finding.message)
        for finding in audit(kubernetes.check, tmp_path, {"store.yml": stateful_set})
    ]
    assert messages == [
        (RESOURCES, "container 'db' of StatefulSet/store sets no resources.requests.cpu, "
         "resources.limits.cpu"),
        (PROBES, "container 'db' of StatefulSet/store has a livenessProbe but no readinessProbe"),
        (RESOURCES, "container 'cache' of StatefulSet/store sets no resources.limits.cpu, "
         "resources.limits.memory"),
        (PROBES, "container 'exporter' of StatefulSet/store has no readinessProbe and no "
         "livenessProbe"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "long_running"),
    [
        ("Deployment", True),
        ("StatefulSet", True),
        ("DaemonSet", True),
        ("ReplicaSet", True),
        ("Job", False),
    ],
)
def test_probes_are_expected_of_long_running_kinds_only(
    tmp_path: Path, kind: str, long_running: bool
) -> None:
    # the complete Deployment as KIND, cut short before its probes
    without_probes = dedent(COMPLETE_DEPLOYMENT).replace("Deployment", kind).split("readiness")[0]
    expected = {(PROBES, "workload.yaml", 8)} if long_running else set()
    assert found(tmp_path, {"workload.yaml": without_probes}) == expected


def test_batch_workloads_need_resources_but_no_probes(tmp_path: Path) -> None:
    cron_job = """
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: OnFailure
                  containers:
                    - name: retrain
                      image: app:1.0.0
        """
    training = """
        apiVersion: kubeflow.org/v1
        kind: PyTorchJob
        metadata: {name: train}
        spec:
          pytorchReplicaSpecs:
            Master:
              replicas: 1
              template:
                spec:
                  containers:
                    - name: pytorch
                      image: app:1.0.0
                      resources:
                        limits: {cpu: "8", memory: 32Gi, nvidia.com/gpu: 1}
            Worker:
              replicas: 3
              template:
                spec:
                  containers:
                    - name: pytorch
                      image: app:1.0.0
        ---
        apiVersion: kubeflow.org/v1
        kind: TFJob
        metadata: {name: tf}
        spec:
          tfReplicaSpecs:
            Worker:
              template:
                spec:
                  containers: [{name: tensorflow, image: "tf:2.15.0"}]
        """
    files = {"jobs/cronjob.yaml": cron_job, "jobs/train.yaml": training}
    assert found(tmp_path, files) == {
        (RESOURCES, "jobs/cronjob.yaml", 12),
        (RESOURCES, "jobs/train.yaml", 20),
        (RESOURCES, "jobs/train.yaml", 31),
    }


def test_a_pod_that_runs_to_completion_is_batch_and_one_that_restarts_is_not(
    tmp_path: Path,
) -> None:
    pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: once}
        spec:
          restartPolicy: Never
          containers:
            - name: once
              image: app:1.0.0
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: server}
        spec:
          containers:
            - name: server
              image: app:1.0.0
        """
    assert found(tmp_path, {"pods.yaml": pods}) == {
        (RESOURCES, "pods.yaml", 7),
        (RESOURCES, "pods.yaml", 15),
        (PROBES, "pods.yaml", 15),
    }


def test_kustomize_patches_are_not_workloads(tmp_path: Path) -> None:
    kustomization = """
        resources: [deployment.yaml]
        patches:
          - path: patches/replicas.yaml
          - patch: |-
              apiVersion: apps/v1
              kind: Deployment
              metadata: {name: web}
              spec: {template: {spec: {containers: [{name: app, image: "app:2.0.0"}]}}}
        patchesStrategicMerge:
          - image.yaml
        patchesJson6902:
          - target: {kind: Deployment, name: web}
            path: json-patch.yaml
        """
    replicas = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"
    new_image = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: app, image: "app:2.0.0"}]
        """
    unlisted_patch = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - name: app
                  env: [{name: LOG_LEVEL, value: debug}]
        """
    files = {
        "k8s/kustomization.yaml": kustomization,
        "k8s/deployment.yaml": COMPLETE_DEPLOYMENT,
        "k8s/patches/replicas.yaml": replicas,
        "k8s/image.yaml": new_image,
        "k8s/json-patch.yaml": "- {op: replace, path: /spec/replicas, value: 3}\n",
        "k8s/overlays/debug/log-level.yaml": unlisted_patch,
    }
    assert found(tmp_path, files) == set()


def test_invalid_unrelated_and_structurally_templated_yaml_is_skipped(tmp_path: Path) -> None:
    helm = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "app.fullname" . }}
        spec:
          template:
            spec:
              containers:
                - name: app
                  image: busybox:1.36.1
                  {{- with .Values.resources }}
                  resources:
                    {{- toYaml . | nindent 12 }}
                  {{- end }}
        """
    files = {
        "chart/templates/deployment.yaml": helm,
        "broken.yaml": "kind: Deployment\nspec: {template: [\n",
        "workflow.yml": "on: push\njobs: {test: {runs-on: ubuntu-latest, steps: []}}\n",
        "crd.yaml": "kind: Deployment\nspec: not-a-mapping\n",
        "deployment.yaml.jinja": dedent(COMPLETE_DEPLOYMENT).replace("resources:", "x:"),
    }
    assert found(tmp_path, files) == set()


def test_braces_inside_strings_do_not_hide_the_workloads_of_a_file(tmp_path: Path) -> None:
    # A logging agent's configuration and an Argo placeholder: strings, not templating.
    agents = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: fluentd-config}
        data:
          containers.input.conf: |-
            <source>
              filters [{ "_SYSTEMD_UNIT": "{{ container_runtime }}.service" }]
            </source>
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: logging-agent}
        spec:
          template:
            spec:
              containers:
                - name: agent
                  image: fluentd:1.16.5
                  args: ["--config={{ config_path }}"]
                  livenessProbe: {exec: {command: [/bin/sh, -c, "test -f /tmp/alive"]}}
        """
    assert found(tmp_path, {"k8s/agents.yaml": agents}) == {
        (RESOURCES, "k8s/agents.yaml", 17),
        (PROBES, "k8s/agents.yaml", 17),
    }


def test_a_document_that_does_not_parse_hides_only_itself(tmp_path: Path) -> None:
    manifests = """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          {{- with .Values.labels }}
          labels: {{- toYaml . | nindent 4 }}
          {{- end }}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers: [{name: app, image: "app:1.0.0"}]
        """
    assert found(tmp_path, {"k8s/web.yaml": manifests}) == {
        (RESOURCES, "k8s/web.yaml", 15),
        (PROBES, "k8s/web.yaml", 15),
    }


def test_a_templated_value_is_not_judged_but_the_rest_of_its_workload_is(
    tmp_path: Path,
) -> None:
    # YAML that parses although Helm markup sits where values belong: each `{{ x }}` is a
    # flow mapping, which stands for the value it will be.
    helm = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          template:
            spec:
              containers:
                - name: templated
                  image: "{{ .Values.image }}"
                  resources: {{ .Values.resources }}
                  readinessProbe: {{ .Values.readinessProbe }}
                  livenessProbe: {httpGet: {path: /health/live, port: 8000}}
                - name: sized-by-values
                  image: app:1.0.0
                  resources:
                    limits: {cpu: "{{ .Values.cpu }}", memory: {{ .Values.memory }}}
                  readinessProbe: {httpGet: {path: /health/ready, port: 8000}}
                  livenessProbe: {httpGet: {path: /health/live, port: 8000}}
                - name: forgotten
                  image: sidecar:2.1.0
        """
    assert found(tmp_path, {"chart/templates/deployment.yaml": helm}) == {
        (RESOURCES, "chart/templates/deployment.yaml", 20),
        (PROBES, "chart/templates/deployment.yaml", 20),
    }


def test_manifests_a_config_map_holds_are_judged(tmp_path: Path) -> None:
    # A Katib trial template: one parses (its markup in values), one does not.
    config_map = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: worker-template}
        data:
          gpuWorkerTemplate.yaml: |
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: {{.WorkerID}}
            spec:
              template:
                spec:
                  containers:
                  - name: {{.WorkerID}}
                    image: katib/mxnet-mnist-example:gpu
                    resources:
                      limits:
                        nvidia.com/gpu: 1
                  restartPolicy: Never
          cpuWorkerTemplate.yaml: |
            apiVersion: batch/v1
            kind: Job
            spec:
              template:
                spec:
                  containers:
                  - name: {{.WorkerID}}
                    image: katib/mxnet-mnist-example
                    command:
                    {{- range .HyperParameters}}
                    - "{{.Name}}={{.Value}}"
                    {{- end}}
        """
    assert found(tmp_path, {"katib/worker-template.yaml": config_map}) == {
        (RESOURCES, "katib/worker-template.yaml", 14),
    }
