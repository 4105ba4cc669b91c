# lit configuration for tem: file tests in tests/lit and end-to-end runs in tests/e2e.
#
# Substitutions:
#   %tem        the tem binary of this build
#   %python     the Python that runs the e2e checks (Debian's python3 + numpy)
#   %gen        tests/lit/Inputs/gen.py, the generator of small datasets
#   %e2e        tests/e2e (the e2e helpers)
#   %testdata   ../shared/testdata (tests that need it say REQUIRES: testdata)
#   FileCheck   LLVM's FileCheck
import os
import lit.formats

config.name = "tem"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".tem", ".test"]
config.excludes = ["Inputs", "unit", "lit.cfg.py", "lit.site.cfg.py.in", "README.md", "CMakeLists.txt"]
config.test_source_root = os.path.join(config.tem_src, "tests")
config.test_exec_root = os.path.join(config.tem_build, "tests", "lit-out")

config.substitutions.append(("%tem", config.tem_bin))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%gen", config.python + " " + os.path.join(config.tem_src, "tests", "lit", "Inputs", "gen.py")))
config.substitutions.append(("%e2e", os.path.join(config.tem_src, "tests", "e2e")))
config.substitutions.append(("%examples", os.path.join(config.tem_src, "examples")))
config.substitutions.append(("%testdata", config.testdata))
config.substitutions.append(("FileCheck", config.filecheck))

config.environment["PYTHONPATH"] = os.path.join(config.tem_src, "tests", "e2e")
config.environment["NO_COLOR"] = "1"
for var in ["HOME", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

if lit_config.params.get("slow"):
    config.available_features.add("slow")
if os.path.isdir(config.testdata):
    config.available_features.add("testdata")
try:
    import numpy  # noqa: F401
    config.available_features.add("numpy")
except ImportError:
    pass
# MPI: mpirun on PATH and a tem built with MPI (tem --version names it).
import shutil
import subprocess
if shutil.which("mpirun"):
    try:
        version = subprocess.run([config.tem_bin, "--version"], capture_output=True, text=True).stdout
        if "MPI" in version and "no MPI" not in version:
            config.available_features.add("mpi")
    except OSError:
        pass
for var in ["OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"]:
    config.environment[var] = "1"  # CI runs as root; OpenMPI refuses otherwise
try:
    import h5py  # noqa: F401
    config.available_features.add("h5py")
except ImportError:
    pass
