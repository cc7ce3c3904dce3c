"""Generate the Python code for the contract in proto/.

Run through `make proto`. The generated modules are committed next to their .proto files
(proto/partnergateway/v1/) so the package imports without a build step;
tests/test_contract.py regenerates into a temporary directory and fails when the committed
files differ. grpcio-tools and mypy-protobuf are pinned in pyproject.toml for that reason.
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


def _include_dirs() -> list[Path]:
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    googleapis = Path(sysconfig.get_paths()["purelib"])  # googleapis-common-protos ships .proto
    return [PROTO_ROOT, well_known, googleapis]


def _plugin(name: str) -> Path:
    return Path(sys.executable).parent / name


def generate(out_dir: Path) -> list[Path]:
    """Generate every proto file of the package into `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))
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


def main() -> None:
    build = ROOT / "build" / "protogen"
    shutil.rmtree(build, ignore_errors=True)
    for path in generate(build):
        shutil.copyfile(path, PACKAGE_DIR / path.name)
        print(f"wrote {(PACKAGE_DIR / path.name).relative_to(ROOT)}")
    shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    main()
