#!/usr/bin/python3
"""Small ONNX models for lsprobe's ONNX reader tests, written by ONNX's own
Python package (Debian python3-onnx 1.12), so the bytes come from an
independent protobuf encoder. Run with /usr/bin/python3 from anywhere:

    /usr/bin/python3 tests/data/gen_onnx_cases.py

It (re)writes tests/data/onnx_cases/*.onnx and *.pb. Valid models: mlp_gemm,
mlp_gemm_extras (mlp_gemm plus fields lsprobe does not read: doc strings,
value_info, metadata, a training_info block and a 1 MB doc string),
mlp_matmul (MatMul + Add, Identity, a Constant weight, nodes out of order,
a dead branch), cnn_attrs (VALID auto_pad, Conv without kernel_shape, a
non-zero Pad, AveragePool counting pads, Reshape by an int64 initializer,
IR 3-style initializers listed as graph inputs), conv_flat (valid ONNX
whose output is no classifier's logits), maxpool_endpad and maxpool_ceilpad
(one pooling as PyTorch writes it with opsets 9 and 13), pad_chain_* and
pad_plain_* (PyTorch's int64 pads arithmetic and its result), view_chain and
view_flat (x.view(x.size(0), -1) and Flatten), final_softmax and
final_logsoftmax (mlp_gemm's logits passed through a final Softmax or
LogSoftmax, which lsprobe reads as those logits). Every other file is a
defect the reader must refuse; tests/test_onnx_bad.c names the reason it
expects for each. tensor_*.pb are TensorProto files like the backend
tests' input_<k>.pb (float32 raw and in float_data, int64, a scalar, and a
float64 one to refuse). Weights are small integers over 8 (exact in float32):
w[i] = ((37 i) mod 17 - 8) / 8 in row-major order.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx_cases")


def weights(*shape, dtype=np.float32):
    n = int(np.prod(shape))
    return (((37 * np.arange(n)) % 17 - 8) / 8.0).astype(dtype).reshape(shape)


def init(name, arr):
    return helper.make_tensor(name, helper.np_dtype_to_tensor_dtype(arr.dtype)
                              if hasattr(helper, "np_dtype_to_tensor_dtype")
                              else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype],
                              arr.shape, arr.tobytes(), raw=True)


def value(name, dims, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def model(nodes, inits, inputs, outputs, opset=13, ir=7, name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gen_onnx_cases")
    m.ir_version = ir
    return m


def save(m, name):
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def mlp_parts(w1=None):
    """x [N,8] -> Gemm(16, transB) -> Relu -> Gemm(4, transB) -> logits."""
    w1 = weights(16, 8) if w1 is None else w1
    inits = [init("fc1.weight", w1), init("fc1.bias", weights(16)),
             init("fc2.weight", weights(4, 16)), init("fc2.bias", weights(4))]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"],
                         name="fc1", transB=1, alpha=1.0, beta=1.0),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["logits"],
                         name="fc2", transB=1),
    ]
    return nodes, inits, [value("x", ["N", 8])], [value("logits", ["N", 4])]


def valid():
    save(model(*mlp_parts()), "mlp_gemm")

    m = model(*mlp_parts())
    m.doc_string = "x" * (1 << 20)  # 1 MB lsprobe must skip, not keep
    m.graph.doc_string = "graph doc"
    m.graph.node[1].doc_string = "node doc"
    m.graph.value_info.extend([value("h", ["N", 16])])
    helper.set_model_props(m, {"author": "gen_onnx_cases"})
    ti = onnx.TrainingInfoProto()
    ti.initialization.name = "init"
    ti.initialization.initializer.extend([init("unused", weights(64))])
    m.training_info.extend([ti])
    save(m, "mlp_gemm_extras")

    # MatMul + Add, Identity, a Constant weight, nodes in reverse order, and
    # a dead Relu that does not lead to the output (opset 17)
    nodes = [
        helper.make_node("Add", ["mm2", "b2"], ["logits"], name="add2"),
        helper.make_node("MatMul", ["r", "w2"], ["mm2"], name="mm2"),
        helper.make_node("Relu", ["a1"], ["r"], name="relu"),
        helper.make_node("Identity", ["s1"], ["a1"], name="id"),
        helper.make_node("Add", ["b1", "mm1"], ["s1"], name="add1"),
        helper.make_node("MatMul", ["x", "w1"], ["mm1"], name="mm1"),
        helper.make_node("Constant", [], ["w2"], name="const_w2",
                         value=init("w2value", weights(16, 4))),
        helper.make_node("Relu", ["x"], ["dead"], name="dead"),
    ]
    inits = [init("w1", weights(8, 16)), init("b1", weights(1, 16)),
             init("b2", weights(4))]
    save(model(nodes, inits, [value("x", ["batch", 8])],
               [value("logits", ["batch", 4])], opset=17, ir=8), "mlp_matmul")

    # CNN attributes (opset 11, IR 6; initializers also listed as inputs)
    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv",
                         auto_pad="VALID", strides=[1, 2]),
        helper.make_node("Pad", ["c", "pads"], ["p"], name="pad",
                         mode="constant"),
        helper.make_node("MaxPool", ["p"], ["mp"], name="maxpool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("Reshape", ["ap", "shape"], ["flat"], name="reshape"),
        helper.make_node("Gemm", ["flat", "fw"], ["logits"], name="fc"),
    ]
    inits = [init("cw", weights(4, 2, 3, 3)), init("cb", weights(4)),
             init("pads", np.array([0, 0, 1, 2, 0, 0, 1, 2], np.int64)),
             init("shape", np.array([0, -1], np.int64)),
             init("fw", weights(80, 3))]
    # x 2×10×9 -> conv 3×3 stride (1,2), VALID -> 4×8×4 -> pad (1,2)/(1,2)
    # -> 4×10×8 -> maxpool 2 -> 4×5×4 -> avgpool 3 pad 1 -> 4×5×4 -> 80
    ins = [value("x", ["N", 2, 10, 9])] + [
        value(t.name, list(t.dims), t.data_type) for t in inits]
    save(model(nodes, inits, ins, [value("logits", ["N", 3])], opset=11, ir=6),
         "cnn_attrs")

    # valid ONNX, but no classifier: the output is a convolution's maps,
    # flattened, neither the logits of a Gemm or MatMul nor pooled class
    # maps (lsprobe's models refuse it)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Flatten", ["c"], ["scores"], name="flat")]
    save(model(nodes, [init("w", weights(4, 2, 3, 3))],
               [value("x", ["N", 2, 8, 8])], [value("scores", ["N", 144])]),
         "conv_flat")


def maxpool_pair():
    """MaxPool(3, stride 2) on 2x8x8 as PyTorch's MaxPool2d(3, 2, padding=1,
    ceil_mode=True) exports it: with opset 9, as end padding of 3 (more
    than any window reaches; maxpool_endpad), and with opset 10 or later, as
    ceil_mode (maxpool_ceilpad). Both have the same 5x5 windows."""
    for name, opset, pads, ceil in (("maxpool_endpad", 9, [1, 1, 3, 3], 0),
                                    ("maxpool_ceilpad", 13, [1, 1, 1, 1], 1)):
        kw = {"ceil_mode": ceil} if opset >= 10 else {}
        nodes = [helper.make_node("MaxPool", ["x"], ["p"], name="pool",
                                  kernel_shape=[3, 3], strides=[2, 2],
                                  pads=pads, **kw),
                 helper.make_node("Flatten", ["p"], ["f"], name="flat"),
                 helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"],
                                  ["logits"], name="fc", transB=1)]
        inits = [init("fc.weight", weights(3, 50)), init("fc.bias", weights(3))]
        save(model(nodes, inits, [value("x", ["N", 2, 8, 8])],
                   [value("logits", ["N", 3])], opset=opset), name)


def pad_chain():
    """nn.ZeroPad2d((1, 0, 2, 0)) and padding_mode='reflect' as PyTorch 1.13
    writes them from opset 11 on: the pads computed from PyTorch's list
    (left, right, top, bottom) by ConstantOfShape, Concat, Reshape, Slice
    (rows reversed), Transpose, Reshape and Cast on int64 constants, which
    gives ONNX's [0, 0, top, left, 0, 0, bottom, right]. pad_chain_<mode>
    pads 2x6x6 inputs that way before a Conv; pad_plain_<mode> is the same
    model with the pads [0, 0, 2, 1, 0, 0, 0, 0] given as an initializer.
    pad_chain_reversed has the nodes of pad_chain_constant in reverse order;
    pad_chain_input feeds the chain from the graph input, no constant."""
    def i64(name, v):
        return init(name, np.array(v, dtype=np.int64))

    for mode in ("constant", "reflect"):
        for chain in (1, 0):
            pre, inits = [], []
            if chain:
                pre = [
                    helper.make_node("Constant", [], ["n"], value=i64("nv", [4])),
                    helper.make_node("Constant", [], ["tp"],
                                     value=i64("tv", [1, 0, 2, 0])),
                    helper.make_node("ConstantOfShape", ["n"], ["zeros"],
                                     value=i64("z", [0])),
                    helper.make_node("Concat", ["tp", "zeros"], ["cat"], axis=0),
                    helper.make_node("Reshape", ["cat", "rs"], ["pairs"]),
                    helper.make_node("Slice", ["pairs", "st", "en", "ax", "sp"],
                                     ["rev"]),
                    helper.make_node("Transpose", ["rev"], ["tr"], perm=[1, 0]),
                    helper.make_node("Reshape", ["tr", "flat"], ["pl"]),
                    helper.make_node("Cast", ["pl"], ["pads"], to=7)]
                inits = [i64("rs", [-1, 2]), i64("st", [-1]),
                         i64("en", [-(2 ** 63 - 1)]), i64("ax", [0]),
                         i64("sp", [-1]), i64("flat", [-1])]
            else:
                inits = [i64("pads", [0, 0, 2, 1, 0, 0, 0, 0])]
            nodes = pre + [
                helper.make_node("Pad", ["x", "pads"], ["p"], name="pad",
                                 mode=mode),
                helper.make_node("Conv", ["p", "w", "b"], ["c"], name="conv"),
                helper.make_node("Relu", ["c"], ["r"], name="relu"),
                helper.make_node("Flatten", ["r"], ["f"], name="flat"),
                helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"],
                                 ["logits"], name="fc", transB=1)]
            inits += [init("w", weights(3, 2, 3, 3)), init("b", weights(3)),
                      init("fc.weight", weights(4, 3 * 6 * 5)),
                      init("fc.bias", weights(4))]
            save(model(nodes, inits, [value("x", ["N", 2, 6, 6])],
                       [value("logits", ["N", 4])]),
                 ("pad_chain_" if chain else "pad_plain_") + mode)
    # the same nodes in reverse order (folding does not need the file's order)
    m = onnx.load(os.path.join(OUT, "pad_chain_constant.onnx"))
    nodes = list(m.graph.node)[::-1]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    save(m, "pad_chain_reversed")
    # the same chain fed by the graph input: not a constant
    m = onnx.load(os.path.join(OUT, "pad_chain_constant.onnx"))
    m.graph.node[2].input[0] = "x"
    m.graph.node[2].name = "zeros"
    save(m, "pad_chain_input")


def view_chain():
    """x.view(x.size(0), -1) as PyTorch 1.13 writes it (opset 13): Shape,
    Gather of entry 0 (the batch size), Unsqueeze, Concat with [-1], and
    the Reshape that uses the result (view_chain); view_flat is the same
    model with Flatten. view_chain_c gathers entry 1 (the channels) and
    puts it first, where the Reshape would need the batch, and is refused;
    view_marker reshapes by a constant holding the reader's own marker for
    the batch size, also refused."""
    def i64(name, v):
        return init(name, np.array(v, dtype=np.int64))

    for name, idx in (("view_chain", 0), ("view_flat", None), ("view_chain_c", 1),
                      ("view_marker", "marker")):
        if idx is None:
            mid = [helper.make_node("Flatten", ["r"], ["f"], name="flat")]
            extra = []
        elif idx == "marker":  # a constant target shape holding the value the
            # reader uses for the batch size of a Shape: refused where read
            mid = [helper.make_node("Reshape", ["r", "sh"], ["f"], name="view")]
            extra = [i64("sh", [-(1 << 62) - 0x4C5350, -1])]
        else:
            mid = [helper.make_node("Shape", ["r"], ["s"], name="shape"),
                   helper.make_node("Gather", ["s", "i0"], ["n"], name="gather",
                                    axis=0),
                   helper.make_node("Unsqueeze", ["n", "ax"], ["n1"],
                                    name="unsqueeze"),
                   helper.make_node("Concat", ["n1", "m1"], ["sh"], name="cat",
                                    axis=0),
                   helper.make_node("Reshape", ["r", "sh"], ["f"], name="view")]
            extra = [init("i0", np.array(idx, dtype=np.int64)), i64("ax", [0]),
                     i64("m1", [-1])]
        nodes = ([helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
                  helper.make_node("Relu", ["c"], ["r"], name="relu")] + mid +
                 [helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"],
                                   ["logits"], name="fc", transB=1)])
        inits = extra + [init("w", weights(3, 2, 3, 3)), init("b", weights(3)),
                         init("fc.weight", weights(4, 3 * 4 * 4)),
                         init("fc.bias", weights(4))]
        save(model(nodes, inits, [value("x", ["N", 2, 6, 6])],
                   [value("logits", ["N", 4])]), name)


def bad():
    def mlp_with(fn, name, **kw):
        nodes, inits, ins, outs = mlp_parts()
        fn(nodes, inits, ins, outs)
        save(model(nodes, inits, ins, outs, **kw), name)

    mlp_with(lambda n, i, a, o: n.__setitem__(
        1, helper.make_node("Softsign", ["h"], ["r"], name="act")),
        "unsupported_op")
    # probabilities instead of logits: a Softmax (or LogSoftmax) after the
    # classifier makes the graph output (read as the logits it reads)
    for op in ("Softmax", "LogSoftmax"):
        def final(n, i, a, o, op=op):
            n[2].output[0] = "z"
            n.append(helper.make_node(op, ["z"], ["logits"], name="sm", axis=1))
        mlp_with(final, "final_" + op.lower())
    mlp_with(lambda n, i, a, o: n.__setitem__(
        1, helper.make_node("Relu", ["h"], ["r"], name="relu", foo=1)),
        "unknown_attr")
    mlp_with(lambda n, i, a, o: n.__setitem__(
        0, helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"],
                            name="fc1", transA=1, transB=1)),
        "gemm_transa")
    mlp_with(lambda n, i, a, o: None, "opset21", opset=21)
    # an attribute of old opsets in a newer model: Pad's pads became an
    # input in opset 11
    mlp_with(lambda n, i, a, o: n.insert(1, helper.make_node(
        "Pad", ["h0"], ["h"], name="pad", pads=[0, 1, 0, 1])) or
        n[0].output.__setitem__(0, "h0"), "legacy_attr")

    # opset 6 Add without broadcast = 1: the operands must have one shape
    def legacy_add(n, i, a, o):
        n.insert(1, helper.make_node("Add", ["h0", "fc1.bias"], ["h"],
                                     name="add"))
        n[0].output[0] = "h0"
        n[0].input.pop()  # Gemm without C
        n[0].attribute.append(helper.make_attribute("broadcast", 1))
    mlp_with(legacy_add, "legacy_broadcast", opset=6, ir=3)
    mlp_with(lambda n, i, a, o: i.__setitem__(
        0, init("fc1.weight", weights(16, 8, dtype=np.float64))),
        "float64_init")
    mlp_with(lambda n, i, a, o: i.__setitem__(
        0, init("fc1.weight", weights(16, 8).astype(np.int64))),
        "int64_weight")
    nanw = weights(16, 8)
    nanw[3, 5] = np.nan
    mlp_with(lambda n, i, a, o: i.__setitem__(0, init("fc1.weight", nanw)),
             "nan_init")
    mlp_with(lambda n, i, a, o: i.pop(0), "missing_init")

    def external(n, i, a, o):
        t = TensorProto()
        t.name = "fc1.weight"
        t.data_type = TensorProto.FLOAT
        t.dims.extend([16, 8])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", "weights.bin"), ("offset", "0"),
                     ("length", str(16 * 8 * 4))):
            e = t.external_data.add()
            e.key, e.value = k, v
        i[0] = t
    mlp_with(external, "external_data")

    def short_raw(n, i, a, o):
        t = init("fc1.bias", weights(16))
        t.raw_data = weights(15).tobytes()  # 15 values for dims [16]
        i[1] = t
    mlp_with(short_raw, "init_size")

    def cycle(n, i, a, o):  # fc1 reads the output of relu, relu that of fc1
        n[0] = helper.make_node("Add", ["x2", "r"], ["h"], name="loop_add")
        n.insert(0, helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"],
                                     ["x2"], name="fc1", transB=1))
    mlp_with(cycle, "cycle")

    def two_inputs(n, i, a, o):
        a.append(value("y", ["N", 16]))
        n[1] = helper.make_node("Add", ["h", "y"], ["r"], name="add")
    mlp_with(two_inputs, "two_inputs")

    def sym_dim(n, i, a, o):
        a[0] = value("x", ["N", "features"])
    mlp_with(sym_dim, "symbolic_dim")

    def dup(n, i, a, o):
        n.insert(2, helper.make_node("Relu", ["h"], ["r"], name="relu_again"))
    mlp_with(dup, "duplicate_output")

    def wrong_out(n, i, a, o):
        o[0] = value("logits", ["N", 5])
    mlp_with(wrong_out, "declared_shape")

    def shape_mismatch(n, i, a, o):
        i[2] = init("fc2.weight", weights(4, 15))
    mlp_with(shape_mismatch, "gemm_shape")

    # a convolution that lsprobe cannot compute
    def conv(name, **attrs):
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                                  **attrs),
                 helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
                 helper.make_node("Flatten", ["g"], ["logits"], name="flat")]
        save(model(nodes, [init("w", weights(4, 2, 3, 3))],
                   [value("x", ["N", 4, 8, 8])],
                   [value("logits", ["N", 4])]), name)
    conv("conv_group", group=3)  # 4 input channels: not 3 groups

    # pooling lsprobe cannot compute: dilated average pooling (opset 19's);
    # ceil_mode where the last window starts in the padding (5 + 2·1 pad,
    # window 2, stride 2: ONNX 1.12 counts 4 windows, PyTorch 3)
    def pool(name, out, op="MaxPool", **attrs):
        nodes = [helper.make_node(op, ["x"], ["m"], name="pool", **attrs),
                 helper.make_node("Flatten", ["m"], ["logits"], name="flat")]
        save(model(nodes, [], [value("x", ["N", 1, 5, 5])],
                   [value("logits", ["N", out])]), name)
    pool("avgpool_dilations", 9, "AveragePool", kernel_shape=[2, 2],
         dilations=[2, 2])
    pool("maxpool_ceil", 16, kernel_shape=[2, 2], strides=[2, 2],
         pads=[1, 1, 1, 1], ceil_mode=1)


def more():
    """Dropout in inference (dropout_is_test: opset 6, is_test = 1; read as
    mlp_gemm) and what the reader refuses with a message of its own:
    Dropout in training mode or with its mask read, Mul by a constant whose
    reciprocal leaves float32 (refused when lowered), MatMul by a vector, a
    Softmax of the input, an initializer named as the only input, PyTorch's
    AvgPool2d(4, 3, padding=2, ceil_mode=True) on 13 pixels as Pad then
    AveragePool (opset 13: ceil_mode; opset 9: end padding). unused_float64
    is mlp_gemm with a float64 initializer no node reads (valid)."""
    def drop(name, opset, mask_read=False, **attrs):
        nodes, inits, ins, outs = mlp_parts()
        if opset <= 6:
            for n in nodes:
                if n.op_type == "Gemm":
                    n.attribute.append(helper.make_attribute("broadcast", 1))
        nodes[1].output[0] = "r0"
        nodes.insert(2, helper.make_node("Dropout", ["r0"], ["r", "mask"],
                                         name="drop", **attrs))
        if mask_read:
            nodes.append(helper.make_node("Identity", ["mask"], ["m2"],
                                          name="use_mask"))
        save(model(nodes, inits, ins, outs, opset=opset), name)
    drop("dropout_is_test", 6, is_test=1, ratio=0.5)
    drop("dropout_train6", 6, ratio=0.5)
    drop("dropout_mask_read", 10, mask_read=True)

    def mul(name, v):
        nodes, inits, ins, outs = mlp_parts()
        nodes[0].input[0] = "xs"
        nodes.insert(0, helper.make_node("Mul", ["x", "s"], ["xs"], name="mul"))
        inits.append(init("s", np.full(8, v, np.float32)))
        save(model(nodes, inits, ins, outs), name)
    mul("mul_tiny", 1e-40)
    mul("mul_huge", 3e38)

    save(model([helper.make_node("MatMul", ["x", "w"], ["logits"], name="mm")],
               [init("w", weights(8))], [value("x", ["N", 8])],
               [value("logits", ["N"])]), "matmul_vector")
    save(model([helper.make_node("Softmax", ["x"], ["logits"], name="sm",
                                 axis=1)],
               [], [value("x", ["N", 8])], [value("logits", ["N", 8])]),
         "softmax_input")
    nodes, inits, ins, outs = mlp_parts()
    save(model(nodes, inits + [init("unused64", weights(3, 3, dtype=np.float64))],
               ins, outs), "unused_float64")
    save(model(nodes, inits + [init("x", weights(4, 8))], ins, outs),
         "init_as_input")

    for name, opset in (("avgpool_pad_ceil", 13), ("avgpool_pad_endpad", 9)):
        padn = (helper.make_node("Pad", ["x", "pads"], ["xp"], name="pad")
                if opset >= 11 else
                helper.make_node("Pad", ["x"], ["xp"], name="pad",
                                 pads=[0, 0, 2, 2, 0, 0, 2, 2]))
        kw = ({"ceil_mode": 1, "pads": [0, 0, 0, 0]} if opset >= 10
              else {"pads": [0, 0, 2, 2]})
        nodes = [padn,
                 helper.make_node("AveragePool", ["xp"], ["p"], name="pool",
                                  kernel_shape=[4, 4], strides=[3, 3], **kw),
                 helper.make_node("Flatten", ["p"], ["f"], name="flat"),
                 helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"],
                                  ["logits"], name="fc", transB=1)]
        inits = [init("fc.weight", weights(3, 25)), init("fc.bias", weights(3))]
        if opset >= 11:
            inits.append(init("pads", np.array([0, 0, 2, 2, 0, 0, 2, 2],
                                               np.int64)))
        save(model(nodes, inits, [value("x", ["N", 1, 13, 13])],
                   [value("logits", ["N", 3])], opset=opset), name)


def tensors():
    """TensorProto files like the backend tests' input_<k>.pb."""
    def put(t, name):
        with open(os.path.join(OUT, name + ".pb"), "wb") as f:
            f.write(t.SerializeToString())
    put(init("a", weights(2, 3)), "tensor_f32")
    put(helper.make_tensor("b", TensorProto.FLOAT, [3, 2],
                           weights(3, 2).ravel().tolist()), "tensor_f32_fields")
    put(init("c", np.array([0, 0, 1, 2, -1, 5], np.int64)), "tensor_i64")
    put(init("s", np.array(2.5, np.float32)), "tensor_scalar")
    put(init("d", weights(2, 3, dtype=np.float64)), "tensor_f64")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    valid()
    maxpool_pair()
    pad_chain()
    view_chain()
    bad()
    more()
    tensors()
    for f in sorted(os.listdir(OUT)):
        if not f.endswith(".onnx"):
            continue
        m = onnx.load(os.path.join(OUT, f), load_external_data=False)
        ok = "-"
        try:
            onnx.checker.check_model(m)
            ok = "checker ok"
        except Exception as e:  # the defective ones may fail the checker
            ok = "checker: " + str(e).splitlines()[0][:60]
        print(f"{f:28s} {ok}")
