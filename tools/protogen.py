"""Generate the Python code for the contract in proto/, and the descriptor set Envoy reads.

Run through `make proto`. The generated modules are committed next to their .proto files
(proto/partnergateway/v1/) so the package imports without a build step;
tests/test_contract.py regenerates into a temporary directory and fails when the committed
files differ. grpcio-tools and mypy-protobuf are pinned in pyproject.toml for that reason.

The descriptor set (`proto/partnergateway/descriptor_set.binpb`) is what Envoy's gRPC-JSON
transcoder reads (docker/envoy.yaml, docs/front-ends.md): every file of the contract with its
imports, plus `google/rpc/error_details.proto`, so a JSON error body can spell out the details
(`BadRequest`, `ErrorInfo`, ...) of a `google.rpc.Status`. The google/ files come from the
copies vendored under third_party/googleapis, and the well-known types from the pinned
grpcio-tools, so the bytes do not drift with googleapis-common-protos.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = PROTO_ROOT / "partnergateway" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
DESCRIPTOR_SET = PROTO_ROOT / "partnergateway" / "descriptor_set.binpb"
VENDORED = ROOT / "third_party" / "googleapis"
# Not imported by the contract, but named in the details of its errors (AIP-193).
ERROR_DETAILS = ("google/rpc/error_details.proto", "google/rpc/status.proto")


def _include_dirs() -> list[Path]:
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    googleapis = Path(sysconfig.get_paths()["purelib"])  # googleapis-common-protos ships .proto
    # The vendored copies first: they are what the descriptor set embeds.
    return [PROTO_ROOT, VENDORED, well_known, googleapis]


def _sources() -> list[str]:
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))


def _plugin(name: str) -> Path:
    return Path(sys.executable).parent / name


def generate(out_dir: Path) -> list[Path]:
    """Generate every proto file of the package into `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = _sources()
    args = [
        "grpc_tools.protoc",
        *(f"-I{d}" for d in _include_dirs()),
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(args)}")
    return sorted(
        p
        for p in (out_dir / "partnergateway" / "v1").iterdir()
        if p.name.endswith(GENERATED_SUFFIXES)
    )


def generate_descriptor_set(out: Path) -> Path:
    """The contract's descriptor set (imports included, no source info) written to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        *(f"-I{d}" for d in _include_dirs()),
        "--include_imports",
        f"--descriptor_set_out={out}",
        *_sources(),
        *ERROR_DETAILS,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(args)}")
    return out


def main() -> None:
    build = ROOT / "build" / "protogen"
    shutil.rmtree(build, ignore_errors=True)
    for path in generate(build):
        shutil.copyfile(path, PACKAGE_DIR / path.name)
        print(f"wrote {(PACKAGE_DIR / path.name).relative_to(ROOT)}")
    generate_descriptor_set(DESCRIPTOR_SET)
    print(f"wrote {DESCRIPTOR_SET.relative_to(ROOT)}")
    shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    main()
