"""deploy/k8s: the Kustomize layout rendered and every object validated against the Kubernetes API schemas, offline.

No cluster runs here, so the layout is checked in three ways:

- rendered by a small kustomize written below (exactly the features deploy/k8s uses; anything else
  in a kustomization.yaml is refused, so a new feature cannot be ignored silently), and, where
  ``kubectl`` is installed, compared with ``kubectl kustomize``: the real kustomize must give the
  same objects;
- every rendered object validated against the API schemas that the ``kubernetes-validate`` package
  ships (strict: an unknown or misspelt field fails), for the oldest Kubernetes the README names and
  the newest the package knows;
- read for what deploy/README.md promises: the images CI builds, non-root and read-only pods, probes
  on /health, limits, the config and API key wired to the variables the solver reads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
BASE = K8S / "base"
EXAMPLE = K8S / "overlays" / "example"
LAYOUTS = {"base": BASE, "example": EXAMPLE}
# The oldest Kubernetes deploy/README.md supports (autoscaling/v2, policy/v1, unhealthyPodEvictionPolicy).
MIN_KUBERNETES = "1.28"
# The uid the Dockerfile's images run as.
IMAGE_UID = 10001
API, UI = "captcha-solver-api", "captcha-solver-ui"


# ------------------------------------------------------------------ a small kustomize
class KustomizeError(Exception):
    """A kustomization this renderer does not handle, or one that is wrong."""


# The kustomization keys deploy/k8s uses; anything else is refused rather than ignored.
_KUSTOMIZATION_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "images",
    "replicas",
    "patches",
    "configMapGenerator",
}
_CLUSTER_SCOPED = {"Namespace"}
_GENERATED = "generated-by-test-renderer"


def _load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def kustomize_hash(data: dict[str, str]) -> str:
    """The suffix kustomize appends to a generated ConfigMap's name (``api/hasher`` in kustomize).

    The sha256 of the Go ``json.Marshal`` of ``{"data", "kind", "name"}`` (sorted keys, ``<>&``
    escaped), its first 10 hex digits with 0, 1, 3, a and e replaced so that no word can form. The
    name is always empty there: kustomize looks ``metadata/name`` up as one field, which finds nothing.
    """
    encoded = json.dumps(
        {"kind": "ConfigMap", "name": "", "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escaped)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _pod_specs(obj: dict) -> list[dict]:
    spec = obj.get("spec", {}).get("template", {}).get("spec")
    return [spec] if spec else []


def _containers(obj: dict) -> list[dict]:
    return [c for spec in _pod_specs(obj) for c in spec.get("initContainers", []) + spec["containers"]]


def _split_image(image: str) -> tuple[str, str]:
    """``registry:5000/name:tag`` -> (``registry:5000/name``, ``:tag``); a digest stays with its ``@``."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    slash, colon = image.rfind("/"), image.rfind(":")
    return (image[:colon], image[colon:]) if colon > slash else (image, "")


def _generate_config_maps(folder: Path, entries: list[dict]) -> list[dict]:
    made = []
    for entry in entries:
        unknown = set(entry) - {"name", "files"}
        if unknown:
            raise KustomizeError(
                f"{folder}: configMapGenerator {entry.get('name')}: unsupported keys {sorted(unknown)}"
            )
        data = {}
        for item in entry["files"]:
            key, _, file = item.partition("=") if "=" in item else (Path(item).name, "", item)
            data[key] = (folder / file).read_text(encoding="utf-8")
        made.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": entry["name"], "annotations": {_GENERATED: "true"}},
                "data": data,
            }
        )
    return made


def _merge_patch(target: dict, patch: dict, where: str) -> None:
    """A strategic-merge patch of maps only (lists would need kustomize's merge keys)."""
    for key, value in patch.items():
        if isinstance(value, list):
            raise KustomizeError(f"{where}: the patch sets the list {key!r}; this renderer merges maps only")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_patch(target[key], value, f"{where}.{key}")
        else:
            target[key] = copy.deepcopy(value)


def _build(folder: Path) -> list[dict]:
    """The objects of one kustomization, generated ConfigMaps still under their plain names."""
    path = folder / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{folder}: no kustomization.yaml")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(spec) - _KUSTOMIZATION_KEYS
    if unknown:
        raise KustomizeError(f"{path}: keys this renderer does not handle: {sorted(unknown)}")

    objects: list[dict] = []
    for resource in spec.get("resources", []):
        target = (folder / resource).resolve()
        objects += _build(target) if target.is_dir() else _load_yaml_documents(target)
    objects += _generate_config_maps(folder, spec.get("configMapGenerator", []))

    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for entry in spec.get("patches", []):
        if set(entry) != {"path"}:
            raise KustomizeError(f"{path}: only patches given by 'path' are handled, got {entry}")
        patch = yaml.safe_load((folder / entry["path"]).read_text(encoding="utf-8"))
        key = (patch["kind"], patch["metadata"]["name"])
        if key not in by_name:
            raise KustomizeError(
                f"{path}: patch {entry['path']} targets {key}, which is not among the resources"
            )
        _merge_patch(
            by_name[key], {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}, entry["path"]
        )

    for entry in spec.get("replicas", []):
        matches = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == entry["name"]]
        if not matches:
            raise KustomizeError(f"{path}: replicas for {entry['name']}, which is no Deployment here")
        for obj in matches:
            obj["spec"]["replicas"] = entry["count"]

    for entry in spec.get("images", []):
        unknown = set(entry) - {"name", "newName", "newTag", "digest"}
        if unknown:
            raise KustomizeError(f"{path}: images entry {entry['name']}: unsupported keys {sorted(unknown)}")
        for container in (c for o in objects for c in _containers(o)):
            name, tag = _split_image(container["image"])
            if name == entry["name"]:
                if "digest" in entry:
                    tag = "@" + entry["digest"]
                elif "newTag" in entry:
                    tag = ":" + str(entry["newTag"])
                container["image"] = entry.get("newName", name) + tag

    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in _CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    return objects


def render(folder: Path) -> list[dict]:
    """``kustomize build folder``, for the features deploy/k8s uses.

    Resources (files and folders), ``namespace``, ``images``, ``replicas``, ``patches`` (a file with
    a strategic-merge patch of maps) and ``configMapGenerator`` (files): generated ConfigMaps get
    kustomize's content-hash suffix, and the pod templates that mount them are pointed at the new name.
    """
    objects = _build(folder)
    renamed = {}
    for obj in objects:
        meta = obj["metadata"]
        if meta.get("annotations", {}).pop(_GENERATED, None):
            if not meta["annotations"]:
                del meta["annotations"]
            new = f"{meta['name']}-{kustomize_hash(obj['data'])}"
            renamed[meta["name"]], meta["name"] = new, new
    refs = []
    for spec in (s for o in objects for s in _pod_specs(o)):
        refs += [v["configMap"] for v in spec.get("volumes", []) if "configMap" in v]
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            refs += [
                e["valueFrom"]["configMapKeyRef"]
                for e in container.get("env", [])
                if "configMapKeyRef" in e.get("valueFrom", {})
            ]
            refs += [
                source["configMapRef"] for source in container.get("envFrom", []) if "configMapRef" in source
            ]
    for ref in refs:
        ref["name"] = renamed.get(ref["name"], ref["name"])
    return objects


def _sorted(objects: list[dict]) -> list[dict]:
    return sorted(objects, key=lambda o: (o["kind"], o["metadata"]["name"]))


# -------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def layout(request) -> tuple[str, list[dict]]:
    return request.param, render(LAYOUTS[request.param])


@pytest.fixture(scope="module")
def example() -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render(EXAMPLE)}


def _one(objects: list[dict], kind: str, name: str) -> dict:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name)]
    assert len(found) == 1, f"expected one {kind} {name}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def _quantity(value: str | int) -> float:
    """A Kubernetes quantity (``500m``, ``1``, ``256Mi``) as a number."""
    units = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match and match[2] in units, f"unexpected quantity {value!r}"
    return float(match[1]) * units[match[2]]


def _ci_images() -> dict[str, str]:
    """Dockerfile target -> the repository .ci/run tags it as (``-t captcha-solver:ci-test --target api``)."""
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    pairs = re.findall(r"-t ([a-z0-9._/-]+):[\w.-]+ --target (\w+)", text)
    found = {target: repository for repository, target in pairs}
    assert {"api", "ui"} <= set(found), f".ci/run builds no api and ui targets that this test finds: {pairs}"
    return found


# ---------------------------------------------------------------------------- render
def test_hash_suffix_matches_kustomize():
    """Golden value from ``kubectl kustomize`` (kustomize v5.5) for a generator with two files."""
    data = {"a.txt": 'x < y & z > w "q" \\ é\t\n', "key": "plain\n"}
    assert kustomize_hash(data) == "4cbb2cd9d8"
    assert kustomize_hash({"a.txt": "plain\n", "key": "plain\n"}) == "28dhchf2m8"


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_renderer_matches_kubectl_kustomize(name):
    """Where kubectl is installed, the real kustomize must render exactly what the renderer here does."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed: only the test's own renderer checked the layout")
    result = subprocess.run(
        [kubectl, "kustomize", str(LAYOUTS[name])], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    real = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert _sorted(real) == _sorted(render(LAYOUTS[name]))


def test_renderer_refuses_what_it_does_not_handle(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: [d.yaml]\npatches: [{path: p.yaml}]\n")
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
    (tmp_path / "d.yaml").write_text(service + "spec: {ports: []}\n")
    (tmp_path / "p.yaml").write_text(service + "spec: {ports: [{port: 1}]}\n")
    with pytest.raises(KustomizeError, match="maps only"):
        render(tmp_path)


def test_layout_objects(layout):
    name, objects = layout
    # A generated ConfigMap's name ends in its hash.
    names = [o["metadata"]["name"] for o in objects]
    kinds = sorted(
        (o["kind"], n.rsplit("-", 1)[0] if o["kind"] == "ConfigMap" else n) for o, n in zip(objects, names)
    )
    expected = [
        ("ConfigMap", "captcha-solver-config"),
        ("Deployment", API),
        ("Deployment", UI),
        ("HorizontalPodAutoscaler", API),
        ("PodDisruptionBudget", API),
        ("Service", API),
        ("Service", UI),
    ]
    if name == "example":
        expected.insert(4, ("Namespace", "captcha-solver"))
    assert kinds == expected
    # The API key's Secret is the operator's: it must never be rendered from the repository.
    assert not [o for o in objects if o["kind"] == "Secret"]


# -------------------------------------------------------------------------- validate
@pytest.mark.parametrize("version", [MIN_KUBERNETES, kubernetes_validate.latest_version()])
def test_every_object_validates(layout, version):
    _, objects = layout
    errors = []
    for obj in objects:
        try:
            used = kubernetes_validate.validate(obj, version, strict=True)
            # The package falls back to an older schema set when it lacks the one asked for.
            assert used == kubernetes_validate.utils.major_minor(version), f"schemas of {used}, not {version}"
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {exc.message}")
    assert not errors, f"not valid Kubernetes {version}:\n" + "\n".join(errors)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(readinessProbes={}),  # misspelt field
        lambda d: d["spec"].update(replicas="two"),  # wrong type
        lambda d: d["spec"].pop("selector"),  # required field
    ],
    ids=["unknown-field", "wrong-type", "missing-required"],
)
def test_validation_catches_a_broken_deployment(example, breakage):
    broken = copy.deepcopy(example[("Deployment", API)])
    breakage(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, MIN_KUBERNETES, strict=True)


# ------------------------------------------------------------------ what the README promises
def test_images_are_the_ones_ci_builds(layout):
    name, objects = layout
    ci = _ci_images()
    overlay = yaml.safe_load((EXAMPLE / "kustomization.yaml").read_text(encoding="utf-8"))
    pinned = {entry["name"]: entry for entry in overlay["images"]}
    assert set(pinned) == {ci["api"], ci["ui"]}, "the example overlay must tag exactly the images CI builds"
    for deployment, target in ((API, "api"), (UI, "ui")):
        (container,) = _containers(_one(objects, "Deployment", deployment))
        repository, tag = _split_image(container["image"])
        if name == "base":
            assert (repository, tag) == (ci[target], ""), (
                f"{deployment} runs {container['image']}, not {ci[target]}"
            )
        else:
            entry = pinned[ci[target]]
            assert repository == entry["newName"] and repository.endswith("/" + ci[target])
            assert tag == f":{entry['newTag']}"


def test_pods_run_non_root_read_only_with_limits(layout):
    _, objects = layout
    for deployment in (API, UI):
        obj = _one(objects, "Deployment", deployment)
        (spec,) = _pod_specs(obj)
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] == IMAGE_UID and pod["runAsGroup"] == IMAGE_UID
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in _containers(obj):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, deployment
            assert security["allowPrivilegeEscalation"] is False, deployment
            assert security["capabilities"]["drop"] == ["ALL"], deployment
            requests, limits = container["resources"]["requests"], container["resources"]["limits"]
            for resource in ("cpu", "memory"):
                assert _quantity(requests[resource]) <= _quantity(limits[resource]), (
                    f"{deployment} {resource}"
                )
            # Writable: /tmp and /app/data, both emptyDir volumes (an overlay may swap /app/data for a claim).
            volumes = {v["name"]: v for v in spec["volumes"]}
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            assert "emptyDir" in mounts["/tmp"] and "emptyDir" in mounts["/app/data"], deployment


@pytest.mark.parametrize(("deployment", "path"), [(API, "/health"), (UI, "/")])
def test_probes(layout, deployment, path):
    _, objects = layout
    (container,) = _containers(_one(objects, "Deployment", deployment))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == path and check["port"] in ports, f"{deployment} {probe}: {check}"
    assert ports["http"] == (8000 if deployment == API else 7860)
    assert container["args"][-2:] == ["--port", str(ports["http"])]


def test_config_and_api_key_reach_the_solver(layout):
    """The variables the solver reads (settings), the mounted config.yaml, and the Secret reference."""
    from captcha_solver.settings import CONFIG_ENV, Config, apply_overrides

    _, objects = layout
    config_map = _one(objects, "ConfigMap", "captcha-solver-config")
    for deployment in (API, UI):
        obj = _one(objects, "Deployment", deployment)
        (spec,) = _pod_specs(obj)
        (container,) = _containers(obj)
        env = {e["name"]: e for e in container["env"]}
        config_path = Path(env[CONFIG_ENV]["value"])
        (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == config_path.parent]
        assert mount["readOnly"] is True
        (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        assert volume["configMap"]["name"] == config_map["metadata"]["name"], "not the generated ConfigMap"
        assert config_path.name in config_map["data"]
        # The per-pod file names: every $(VAR) in the arguments is a variable of the container.
        args = container["args"]
        assert set(re.findall(r"\$\((\w+)\)", " ".join(args))) <= set(env)
        assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        sets = [args[i + 1].replace("$(POD_NAME)", "pod-a") for i, arg in enumerate(args) if arg == "--set"]
        paths = apply_overrides(Config(), dict(pair.split("=", 1) for pair in sets)).paths
        assert (paths.results_csv, paths.log_file) == (
            "/app/data/results-pod-a.csv",
            "/app/data/log-pod-a.log",
        )
    key_env = Config().serving.api_key_env
    (api,), (ui,) = (_containers(_one(objects, "Deployment", name)) for name in (API, UI))
    (key,) = [e for e in api["env"] if e["name"] == key_env]
    assert "value" not in key, "the API key must come from the Secret, never from the manifest"
    assert key["valueFrom"]["secretKeyRef"] == {"name": "captcha-solver-api-key", "key": "api-key"}
    assert key_env not in {e["name"] for e in ui["env"]}


def test_config_map_is_valid_solver_settings(tmp_path, example):
    """base/config.yaml loads with the solver's own settings schema (a typo would stop every pod)."""
    from captcha_solver.settings import load_config

    (config_map,) = [o for k, o in example.items() if k[0] == "ConfigMap"]
    path = tmp_path / "config.yaml"
    path.write_text(config_map["data"]["config.yaml"], encoding="utf-8")
    config = load_config(path)
    assert config.serving.host == "0.0.0.0" and config.serving.workers == 1
    assert config.logging.console is True


def test_autoscaler_budget_and_services_select_the_pods(layout):
    name, objects = layout
    api = _one(objects, "Deployment", API)
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in api["spec"], "the autoscaler owns the API's pod count; an apply would reset it"
    hpa = _one(objects, "HorizontalPodAutoscaler", API)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": API}
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    expected_range = (3, 20) if name == "example" else (2, 10)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == expected_range
    pdb = _one(objects, "PodDisruptionBudget", API)
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"], "the budget must let a drain evict a pod"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= api_labels.items()
    for deployment in (API, UI):
        obj = _one(objects, "Deployment", deployment)
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert obj["spec"]["selector"]["matchLabels"].items() <= labels.items()
        service = _one(objects, "Service", deployment)
        assert service["spec"]["selector"].items() <= labels.items()
        (container,) = _containers(obj)
        names = {p["name"] for p in container["ports"]}
        assert all(p["targetPort"] in names for p in service["spec"]["ports"])
        # The two Services must not select each other's pods.
        other = _one(objects, "Deployment", UI if deployment == API else API)["spec"]["template"]["metadata"]
        assert not service["spec"]["selector"].items() <= other["labels"].items()


def test_example_overlay_namespace(example):
    assert ("Namespace", "captcha-solver") in example
    for (kind, name), obj in example.items():
        if kind != "Namespace":
            assert obj["metadata"].get("namespace") == "captcha-solver", f"{kind}/{name}"
    assert example[("Deployment", UI)]["spec"]["replicas"] == 1
