//! An ONNX graph under construction: fresh value names, typed attributes, a symbolic batch
//! dimension, little-endian `raw_data` initializers, and the fp32 ports. Precision decides how
//! weights are stored (fp32 or fp16) and where casts go. The layers emit their own nodes next to
//! their candle forward passes (`emit` in `nn` and `model`); this knows no layer.

use candle_core::Tensor;
use half::f16;

use super::proto::{
    attribute_type, data_type, tensor_shape_proto, type_proto, AttributeProto, GraphProto,
    NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::error::{Error, Result};
use edgevae_runtime::core::{Precision, Standardization};
use edgevae_runtime::micro::format::quantize_row;

/// The batch dimension's symbolic name.
pub const BATCH: &str = "N";

pub struct GraphBuilder {
    precision: Precision,
    graph: GraphProto,
    counter: usize,
}

fn value_info(name: &str, elem_type: i32, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(n) => tensor_shape_proto::dimension::Value::DimValue(*n as i64),
                None => tensor_shape_proto::dimension::Value::DimParam(BATCH.to_string()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
    }
}

pub fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        i,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

pub fn string_attr(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        s: value.as_bytes().to_vec(),
        r#type: attribute_type::STRING,
        ..Default::default()
    }
}

pub fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

impl GraphBuilder {
    pub fn new(name: &str, precision: Precision) -> Self {
        Self {
            precision,
            graph: GraphProto {
                name: name.to_string(),
                ..Default::default()
            },
            counter: 0,
        }
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        format!("{stem}_{}", self.counter)
    }

    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
        stem: &str,
    ) -> String {
        let out = self.fresh(stem);
        self.graph.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: format!("{op}_{out}"),
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    /// An fp32 graph input [N, width], cast to the compute type; returns the name to compute on.
    pub fn input(&mut self, name: &str, width: usize) -> String {
        self.data_input(name, width, None)
    }

    /// Declares `value` as the fp32 graph output `name` [N, width].
    pub fn output(&mut self, value: &str, name: &str, width: usize) {
        self.data_output(value, name, width, None)
    }

    /// `value` cast to `to` when the graph computes in fp16, else `value` itself.
    fn cast_if_half(&mut self, value: &str, to: i32, stem: &str) -> String {
        if self.precision.half_compute() {
            self.node("Cast", &[value], vec![int_attr("to", to.into())], stem)
        } else {
            value.to_string()
        }
    }

    /// An fp32 scalar initializer, fp32 whatever the graph's precision: the data-unit affine
    /// maps at the ports run in fp32, before and after the fp16 casts.
    fn fp32_scalar(&mut self, name: &str, value: f32) -> String {
        self.graph.initializer.push(TensorProto {
            dims: vec![],
            data_type: data_type::FLOAT,
            name: name.to_string(),
            raw_data: value.to_le_bytes().to_vec(),
        });
        name.to_string()
    }

    /// An fp32 graph input [N, width] in the data's units, mapped to model units
    /// `(x - center) / scale` in fp32 when `standardization` is given (in fp16, 50.1 - 50 would
    /// keep two digits), then cast to the compute type; returns the name to compute on.
    pub fn data_input(
        &mut self,
        name: &str,
        width: usize,
        standardization: Option<&Standardization>,
    ) -> String {
        self.graph
            .input
            .push(value_info(name, data_type::FLOAT, &[None, Some(width)]));
        let model = match standardization {
            Some(s) => {
                let center = self.fp32_scalar(&format!("{name}.center"), s.center);
                let inv_scale = self.fp32_scalar(&format!("{name}.inv_scale"), 1.0 / s.scale);
                let shifted =
                    self.node("Sub", &[name, &center], vec![], &format!("{name}_centered"));
                let stem = format!("{name}_model");
                self.node("Mul", &[&shifted, &inv_scale], vec![], &stem)
            }
            None => name.to_string(),
        };
        self.cast_if_half(&model, data_type::FLOAT16, &format!("{name}_f16"))
    }

    /// Declares `value` (model units) as the fp32 output `name` [N, width] in the data's units:
    /// cast to fp32, then `* mul + add` in fp32 when `affine` = (mul, add) is given. The last
    /// node writes `name`: the affine map's Add, else the boundary Cast in fp16 or an Identity.
    pub fn data_output(
        &mut self,
        value: &str,
        name: &str,
        width: usize,
        affine: Option<(f32, f32)>,
    ) {
        let (op, input, attribute) = match affine {
            Some((mul, add)) => {
                let value = self.cast_if_half(value, data_type::FLOAT, &format!("{name}_f32"));
                let mul = self.fp32_scalar(&format!("{name}.scale"), mul);
                let add = self.fp32_scalar(&format!("{name}.shift"), add);
                let scaled = self.node("Mul", &[&value, &mul], vec![], &format!("{name}_scaled"));
                ("Add", vec![scaled, add], vec![])
            }
            None if self.precision.half_compute() => (
                "Cast",
                vec![value.to_string()],
                vec![int_attr("to", data_type::FLOAT.into())],
            ),
            None => ("Identity", vec![value.to_string()], vec![]),
        };
        self.graph.node.push(NodeProto {
            input,
            output: vec![name.to_string()],
            name: format!("output_{name}"),
            op_type: op.to_string(),
            attribute,
            ..Default::default()
        });
        self.graph
            .output
            .push(value_info(name, data_type::FLOAT, &[None, Some(width)]));
    }

    /// Stores `values` (shape `dims`) as an initializer named `name`; returns the name of the
    /// value in compute precision (a Cast node follows fp16-stored weights in fp16w).
    pub fn weight(&mut self, name: &str, values: &[f32], dims: &[usize]) -> Result<String> {
        let (elem, raw) = if self.precision.half_weights() {
            if let Some(v) = values.iter().find(|v| !v.is_finite() || v.abs() > 65504.0) {
                return Err(Error::Config(format!(
                    "cannot export {name} as fp16: it holds {v}, outside ±65504; export fp32 only"
                )));
            }
            let raw: Vec<u8> = values
                .iter()
                .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                .collect();
            (data_type::FLOAT16, raw)
        } else {
            (
                data_type::FLOAT,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        };
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: elem,
            name: name.to_string(),
            raw_data: raw,
        });
        if self.precision == Precision::Fp16w {
            let to = i64::from(data_type::FLOAT);
            return Ok(self.node(
                "Cast",
                &[name],
                vec![int_attr("to", to)],
                &format!("{name}_f32"),
            ));
        }
        Ok(name.to_string())
    }

    /// `x [N, in] · weight [in, out]`, the product of a dense layer, with the weight stored as
    /// `{name}.weight`. In int8 it is ONNX Runtime's dynamic-quantisation pattern (what its
    /// `quantize_dynamic` writes, and what its optimizer fuses into one `DynamicQuantizeMatMul`):
    /// `DynamicQuantizeLinear(x)` -> `MatMulInteger` with the int8 weight `{name}.weight` and
    /// its zero points -> `Cast` to fp32 -> times `x_scale * {name}.weight_scale`, one weight
    /// scale per output column, quantised as the micro blob's int8 rows are ([`quantize_row`]).
    pub fn matmul(&mut self, x: &str, weight: &Tensor, name: &str) -> Result<String> {
        let weight_name = format!("{name}.weight");
        if !self.precision.int8_products() {
            let w = self.tensor_weight(&weight_name, weight)?;
            return Ok(self.node("MatMul", &[x, &w], vec![], "matmul"));
        }
        let (inputs, outputs) = weight.dims2()?;
        // Rows of the transpose are output columns: one scale each.
        let columns = weight.t()?.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let mut q_columns = vec![0i8; columns.len()];
        let mut scales = Vec::with_capacity(outputs);
        for (column, q) in columns
            .chunks_exact(inputs)
            .zip(q_columns.chunks_exact_mut(inputs))
        {
            scales.push(quantize_row(column, q));
        }
        // Back to [in, out], row-major, as MatMulInteger's B.
        let q: Vec<u8> = (0..inputs * outputs)
            .map(|i| q_columns[(i % outputs) * inputs + i / outputs] as u8)
            .collect();
        self.initializer(&weight_name, data_type::INT8, &[inputs, outputs], q);
        let zero_point = format!("{name}.weight_zero_point");
        self.initializer(&zero_point, data_type::INT8, &[outputs], vec![0; outputs]);
        let scale = format!("{name}.weight_scale");
        let raw = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.initializer(&scale, data_type::FLOAT, &[outputs], raw);

        let [x_q, x_scale, x_zero_point] = ["quantized", "scale", "zero_point"]
            .map(|what| self.fresh(&format!("{name}.input_{what}")));
        self.graph.node.push(NodeProto {
            input: vec![x.to_string()],
            output: vec![x_q.clone(), x_scale.clone(), x_zero_point.clone()],
            name: format!("DynamicQuantizeLinear_{x_q}"),
            op_type: "DynamicQuantizeLinear".to_string(),
            ..Default::default()
        });
        let product = self.node(
            "MatMulInteger",
            &[&x_q, &weight_name, &x_zero_point, &zero_point],
            vec![],
            "matmul_integer",
        );
        let to = i64::from(data_type::FLOAT);
        let product = self.node("Cast", &[&product], vec![int_attr("to", to)], "product");
        let scale = self.node("Mul", &[&x_scale, &scale], vec![], "product_scale");
        Ok(self.node("Mul", &[&product, &scale], vec![], "matmul"))
    }

    fn initializer(&mut self, name: &str, data_type: i32, dims: &[usize], raw_data: Vec<u8>) {
        self.graph.initializer.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.to_string(),
            raw_data,
        });
    }

    /// An int64 initializer (a shape), stored as it is whatever the precision.
    pub fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        self.graph.initializer.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: data_type::INT64,
            name: name.to_string(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_string()
    }

    /// `x` reshaped to `shape` (ONNX semantics: 0 keeps the input's size there, -1 is inferred).
    pub fn reshape(&mut self, x: &str, shape: &[i64], name: &str) -> String {
        let shape = self.int64s(&format!("{name}.shape"), shape);
        self.node("Reshape", &[x, &shape], vec![], "reshape")
    }

    /// A scalar constant in compute precision.
    pub fn scalar(&mut self, name: &str, value: f32) -> Result<String> {
        self.weight(name, &[value], &[])
    }

    /// A tensor's values as an initializer named `name` (see [`Self::weight`]).
    pub fn tensor_weight(&mut self, name: &str, t: &Tensor) -> Result<String> {
        let values = t.flatten_all()?.to_vec1::<f32>()?;
        self.weight(name, &values, t.dims())
    }

    pub fn finish(self) -> GraphProto {
        self.graph
    }
}
