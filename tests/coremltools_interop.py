"""coremltools_interop.py — milrun's Core ML packages against coremltools, an independent reader
and writer of the format (run by ctest as test_coremltools_interop when build/venv has coremltools).

(a) coremltools' MIL builder makes programs, saved as .mlpackage; milrun runs each and must match
    a float64 numpy reference.
(b) every package `milrun export` writes loads in coremltools and converts back through its
    proto-to-MIL loader with the same inputs, outputs and op count as the .mlmodelc form.
usage: coremltools_interop.py MILRUN FIXTURES TMPDIR
"""
import os
import re
import subprocess
import sys

import numpy as np
import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.frontend.milproto.load import load as milproto_load

MILRUN, FIXTURES, TMP = sys.argv[1:4]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def milrun(*args):
    return subprocess.run([MILRUN, *args], check=True, capture_output=True, text=True).stdout


def run_package(path, inputs):
    out = os.path.join(TMP, os.path.basename(path) + ".out")
    args = ["run", path, "--output-dir", out]
    for name, arr in inputs.items():
        f = os.path.join(TMP, f"{os.path.basename(path)}.{name}.npy")
        np.save(f, arr)
        args += ["--input", f"{name}={f}"]
    milrun(*args)
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def save(prog, name, target):
    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=target,
                       compute_precision=ct.precision.FLOAT32)
    path = os.path.join(TMP, name + ".mlpackage")
    model.save(path)
    return model, path


def builder_programs():
    rng = np.random.default_rng(1)
    w = rng.uniform(-1, 1, (16, 32)).astype(np.float32)
    b = rng.uniform(-1, 1, (16,)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(2, 32))], opset_version=ct.target.iOS17)
    def dense(x):
        y = mb.linear(x=x, weight=w, bias=b)
        y = mb.relu(x=y)
        y = mb.softmax(x=y, axis=-1)
        return mb.reduce_sum(x=mb.mul(x=y, y=np.float32(3.0)), axes=[1], keep_dims=True)

    x = rng.uniform(-1, 1, (2, 32))
    y = np.maximum(x @ w.astype(np.float64).T + b, 0)
    e = np.exp(y - y.max(-1, keepdims=True))
    ref = (3 * e / e.sum(-1, keepdims=True)).sum(1, keepdims=True)
    model, path = save(dense, "dense", ct.target.iOS17)
    out = run_package(path, {"x": x.astype(np.float32)})
    got = next(iter(out.values()))
    check(np.allclose(got, ref, atol=1e-5), "builder dense (linear, relu, softmax, mul, reduce_sum)")

    # palettized weights (constexpr_lut_to_dense), per-grouped-channel, 2/4/6/8 bits
    wbig = rng.uniform(-1, 1, (64, 64)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 64))], opset_version=ct.target.iOS18)
    def lin(x):
        return mb.linear(x=x, weight=wbig)

    xin = rng.uniform(-1, 1, (1, 64)).astype(np.float32)
    base, _ = save(lin, "lin", ct.target.iOS18)
    for nbits in (2, 4, 6, 8):
        cfg = ct.optimize.coreml.OptimizationConfig(global_config=ct.optimize.coreml.OpPalettizerConfig(
            nbits=nbits, mode="uniform", granularity="per_grouped_channel", group_size=16, weight_threshold=1))
        pal = ct.optimize.coreml.palettize_weights(base, cfg)
        path = os.path.join(TMP, f"lut{nbits}.mlpackage")
        pal.save(path)
        # reference: the weights as coremltools decompresses them, in float64
        dense_w = ct.optimize.coreml.decompress_weights(pal)
        wq = None
        for f in dense_w._mil_program.functions.values():
            for op in f.operations:
                if op.op_type == "const" and op.outputs[0].shape == (64, 64):
                    wq = op.outputs[0].val.astype(np.float64)
        got = next(iter(run_package(path, {"x": xin}).values()))
        check(wq is not None and np.allclose(got, xin.astype(np.float64) @ wq.T, atol=1e-4),
              f"palettize_weights {nbits}-bit per-grouped-channel")


def exported_packages():
    root = os.path.join(FIXTURES, "silero-vad")
    for b in sorted(os.listdir(root)):
        if not b.endswith(".mlmodelc"):
            continue
        pkg = os.path.join(TMP, b[:-9] + ".mlpackage")
        milrun("export", os.path.join(root, b), pkg)
        m = ct.models.MLModel(pkg, skip_model_load=True)
        spec = m.get_spec()
        prog = milproto_load(spec, spec.specificationVersion, file_weights_dir=m.weights_dir)
        # coremltools' loader turns inline literal arguments into extra const ops, so the count to
        # compare is that of the message it parsed; loading through it must succeed all the same
        assert prog.functions
        n_ops = sum(len(b.operations) for f in spec.mlProgram.functions.values()
                    for b in f.block_specializations.values())
        text = open(os.path.join(root, b, "model.mil")).read()
        want_ops = len(re.findall(r"\];\s*$", text, re.M))  # every op statement ends with its attributes
        ins = [i.name for i in spec.description.input]
        want_ins = re.search(r"func main<\w+>\((.*?)\) \{", text).group(1)
        want_ins = [p.split()[-1] for p in re.split(r", (?=tensor<)", want_ins)]
        check(n_ops == want_ops and ins == want_ins, f"coremltools reads milrun's {b[:-9]}.mlpackage "
              f"({n_ops} ops, want {want_ops}; inputs {ins})")


builder_programs()
exported_packages()
sys.exit(1 if failures else 0)
