"""coremltools_interop.py — milrun's Core ML packages against coremltools, an independent reader
and writer of the format (run by ctest as test_coremltools_interop when build/venv has coremltools).

(a) coremltools' MIL builder makes programs, saved as .mlpackage (dense ops; palettized weights,
    2/4/6/8 bits per grouped channel; a stateful two-function package; blockwise shift-scale
    weights); milrun runs each and must match a float64 numpy reference.
(b) every package milrun writes (`milrun export` of the Silero bundles, `milrun convert` of the tiny
    Qwen3, fp16 and LUT) loads in coremltools and converts back through its proto-to-MIL loader with
    the same inputs, outputs, states and op counts per function as the .mlmodelc form.
usage: coremltools_interop.py MILRUN FIXTURES TMPDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import coremltools as ct
from coremltools.converters.mil import Builder as mb
from coremltools.converters.mil.mil import types
from coremltools.converters.mil.frontend.milproto.load import load as milproto_load

MILRUN, FIXTURES, TMP = sys.argv[1:4]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def milrun(*args):
    return subprocess.run([MILRUN, *args], check=True, capture_output=True, text=True).stdout


def run_package(path, inputs, function=None, states=None):
    tag = os.path.basename(path) + (("." + function) if function else "")
    out = os.path.join(TMP, tag + ".out")
    args = ["run", path, "--output-dir", out] + (["--function", function] if function else [])
    for kind, arrays in (("--input", inputs), ("--state", states or {})):
        for name, arr in arrays.items():
            f = os.path.join(TMP, f"{tag}.{name}.npy")
            np.save(f, arr)
            args += [kind, f"{name}={f}"]
    milrun(*args)
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


def save(prog, name, target, precision=ct.precision.FLOAT32):
    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=target, compute_precision=precision)
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


def stateful_two_functions():
    """A multifunction package (infer, prefill) over one fp16 state, as coremltools makes it:
    read_state, slice_update at a row given by an input, write_state (coreml_update_state)."""
    def fn(scale):
        @mb.program(input_specs=[mb.TensorSpec((1, 4), dtype=types.fp16), mb.StateTensorSpec((3, 4), dtype=types.fp16),
                                 mb.TensorSpec((1,), dtype=types.int32)], opset_version=ct.target.iOS18)
        def prog(x, cache, pos):
            old = mb.read_state(input=cache)
            begin = mb.concat(values=[pos, np.array([0], np.int32)], axis=0)
            end = mb.add(x=begin, y=np.array([1, 4], np.int32))
            upd = mb.slice_update(x=old, update=mb.mul(x=x, y=np.float16(scale)), begin=begin, end=end)
            now = mb.coreml_update_state(state=cache, value=upd)
            return mb.reduce_sum(x=now, axes=[0], keep_dims=True)
        return prog

    parts = []
    for name, scale in (("infer", 1.0), ("prefill", 2.0)):
        parts.append((name, scale, save(fn(scale), "state_" + name, ct.target.iOS18, ct.precision.FLOAT16)[1]))
    desc = ct.utils.MultiFunctionDescriptor()
    for name, _, path in parts:
        desc.add_function(path, src_function_name="main", target_function_name=name)
    desc.default_function_name = "infer"
    two = os.path.join(TMP, "stateful_two.mlpackage")
    ct.utils.save_multifunction(desc, two)
    rng = np.random.default_rng(3)
    for name, scale, _ in parts:
        x = rng.uniform(-1, 1, (1, 4)).astype(np.float16)
        cache = rng.uniform(-1, 1, (3, 4)).astype(np.float16)
        pos = np.array([1], np.int32)
        out = run_package(two, {"x": x, "pos": pos}, function=name, states={"cache": cache})
        want = cache.astype(np.float64)
        want[1] = x[0].astype(np.float64) * scale
        got_state = out["cache"].astype(np.float64)
        got = next(v for k, v in out.items() if k != "cache").astype(np.float64)
        check(np.array_equal(got_state, want.astype(np.float16).astype(np.float64)) and
              np.allclose(got, want.sum(0, keepdims=True), atol=2e-2),
              f"stateful two-function package: {name} (read_state, slice_update, write_state)")


def blockwise_shift_scale():
    rng = np.random.default_rng(4)
    data = rng.integers(-8, 8, (8, 16)).astype(np.int8)
    scale = rng.uniform(0.1, 1, (8, 2)).astype(np.float32)
    offset = rng.integers(-2, 3, (8, 2)).astype(np.int8)

    @mb.program(input_specs=[mb.TensorSpec((1, 16))], opset_version=ct.target.iOS18)
    def bw(x):
        w = mb.constexpr_blockwise_shift_scale(data=data, scale=scale, offset=offset)
        return mb.linear(x=x, weight=w)

    _, path = save(bw, "blockwise", ct.target.iOS18)
    x = rng.uniform(-1, 1, (1, 16)).astype(np.float32)
    blocks = np.repeat(np.arange(2), 8)  # 16 columns in 2 blocks of 8
    w = (data.astype(np.float64) - offset[:, blocks]) * scale[:, blocks]
    got = next(iter(run_package(path, {"x": x}).values()))
    check(np.allclose(got, x.astype(np.float64) @ w.T, atol=1e-5), "constexpr_blockwise_shift_scale (int8, 2 blocks)")


def function_descriptions(spec):
    d = spec.description
    if len(d.functions):
        return {f.name: f for f in d.functions}
    return {"main": d}


def check_package_like_bundle(pkg, bundle, what):
    """pkg (written by milrun) loads in coremltools and converts back through its proto-to-MIL
    loader; inputs, outputs, states and op counts per function are those of the .mlmodelc form as
    `milrun inspect --json` reads its model.mil text."""
    m = ct.models.MLModel(pkg, skip_model_load=True)
    spec = m.get_spec()
    prog = milproto_load(spec, spec.specificationVersion, file_weights_dir=m.weights_dir)
    want = json.loads(milrun("inspect", "--json", bundle))
    descs = function_descriptions(spec)
    for f in want["functions"]:
        name = f["name"]
        d = descs.get(name)
        fmsg = spec.mlProgram.functions[name]
        ops = [op for b in fmsg.block_specializations.values() for op in b.operations]
        hist = {}
        for op in ops:
            hist[op.type] = hist.get(op.type, 0) + 1
        # coremltools' loader makes inline literal arguments into const ops: compare the others
        # and a write_state followed by its read_state into one coreml_update_state
        loaded = {}
        for op in prog.functions[name].operations:
            for t in ("write_state", "read_state") if op.op_type == "coreml_update_state" else (op.op_type,):
                if t != "const":
                    loaded[t] = loaded.get(t, 0) + 1
        want_nonconst = {k: v for k, v in f["ops"].items() if k != "const"}
        ok = (d is not None and [i.name for i in d.input] == [i["name"] for i in f["inputs"]] and
              [o.name for o in d.output] == [o["name"] for o in f["outputs"]] and
              [s.name for s in d.state] == [s["name"] for s in f["states"]] and
              hist == f["ops"] and loaded == want_nonconst)
        check(ok, f"coremltools reads milrun's {what} ({name}: {len(ops)} ops, spec {spec.specificationVersion})")
    if len(want["functions"]) > 1:
        check(spec.description.defaultFunctionName == want["default_function"] and spec.specificationVersion >= 9,
              f"{what}: multifunction package, default {spec.description.defaultFunctionName}")


def exported_packages():
    root = os.path.join(FIXTURES, "silero-vad")
    for b in sorted(os.listdir(root)):
        if b.endswith(".mlmodelc"):
            pkg = os.path.join(TMP, b[:-9] + ".mlpackage")
            milrun("export", os.path.join(root, b), pkg)
            check_package_like_bundle(pkg, os.path.join(root, b), b[:-9] + ".mlpackage")


def converted_packages():
    for tag, opts in (("fp16", []), ("lut", ["--chunks", "2", "--lut-ffn", "4", "--lut-lmhead", "6,0",
                                              "--lut-embeddings", "8"])):
        out = os.path.join(TMP, "conv-" + tag)
        milrun("convert", os.path.join(FIXTURES, "models", "qwen3-tiny"), out, "--context", "32", "--batch", "4",
               "--quiet", *opts)
        comps = sorted(c for c in os.listdir(out) if c.endswith(".mlpackage"))
        check(len(comps) == (4 if tag == "lut" else 3), f"convert ({tag}) wrote {len(comps)} packages")
        for c in comps:
            check_package_like_bundle(os.path.join(out, c), os.path.join(out, c[:-10] + ".mlmodelc"), f"{tag}/{c}")
            spec = ct.models.MLModel(os.path.join(out, c), skip_model_load=True).get_spec()
            user = dict(spec.description.metadata.userDefined)
            check("com.anemll.info" in user and "com.anemll.lut_bits" in user, f"{tag}/{c}: com.anemll.* metadata")
            if "embeddings" in c:
                shapes = [list(s.shape) for s in spec.description.input[0].type.multiArrayType.enumeratedShapes.shapes]
                check(shapes == [[1, 1], [1, 4]], f"{tag}/{c}: input_ids enumerated shapes {shapes}")


builder_programs()
stateful_two_functions()
blockwise_shift_scale()
exported_packages()
converted_packages()
sys.exit(1 if failures else 0)
