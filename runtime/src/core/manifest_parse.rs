//! Reading `manifest.json` into a caller's [`Manifest`], in place, with errors that name the
//! field and the problem.
//!
//! Why by hand and not `#[derive(Deserialize)]`: serde's derived code builds every field in a
//! local and moves the finished struct out through several frames, so parsing the 17 KiB
//! manifest (16 KiB of it the per-element noise) took 213 KiB of stack on a Cortex-M4, and
//! serde-json-core's errors carry no field. Here each value is written where it ends up, so the
//! stack holds no copy of the manifest, and the deserializer keeps the path of the value it is
//! reading, so an error says `graphs[2].sha256: longer than 64 bytes` instead of "not JSON".

use core::fmt;

use heapless::{String, Vec};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;

use super::manifest::{GraphEntry, GraphRole, Manifest, MicroEntry, OutlierThresholds, Scaling};
use super::{CoreError, MicroPrecision, Precision};

/// One step of a path into the manifest: an object key or an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(&'static str),
    Index(u32),
}

/// Where in the manifest a problem is: a key, an optional second key and an optional index
/// (`latent`, `graphs[2].sha256`, `outlier.element_noise[5]`); no key is the document itself.
/// Small (40 bytes) because every `Result` of the runtime carries a `CoreError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FieldPath {
    key: &'static str,
    sub: &'static str,
    index: Option<u32>,
    /// Whether the index follows `sub` (`outlier.element_noise[5]`) or `key` (`graphs[2].file`).
    index_after_sub: bool,
}

impl FieldPath {
    pub const ROOT: FieldPath = FieldPath {
        key: "",
        sub: "",
        index: None,
        index_after_sub: false,
    };

    /// This path with `step` added. The manifest's fields are at most two keys and one index
    /// deep; a further step replaces the last of its kind.
    pub fn then(mut self, step: PathStep) -> Self {
        match step {
            PathStep::Key(k) if self.key.is_empty() => self.key = k,
            PathStep::Key(k) => self.sub = k,
            PathStep::Index(i) => {
                self.index = Some(i);
                self.index_after_sub = !self.sub.is_empty();
            }
        }
        self
    }

    pub fn is_root(&self) -> bool {
        self.key.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if let (Some(i), false) = (self.index, self.index_after_sub) {
            write!(f, "[{i}]")?;
        }
        if !self.sub.is_empty() {
            write!(f, ".{}", self.sub)?;
        }
        if let (Some(i), true) = (self.index, self.index_after_sub) {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// What is wrong at a [`FieldPath`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    /// A required field is absent.
    Missing,
    /// The key appears twice in one object.
    Duplicate,
    /// The value is of the wrong type or out of the type's range: expected this.
    Expected(&'static str),
    /// A string longer than its capacity, in bytes.
    TooLong { max: usize },
    /// An array with more values than its capacity.
    TooMany { max: usize },
    /// The document ends before this value does (a truncated file).
    EndsEarly,
    /// The bytes here are not JSON.
    NotJson,
    /// Text follows the manifest's closing brace.
    TrailingText,
    /// Arrays and objects nest deeper than [`super::manifest::MAX_NESTING`].
    TooDeep,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::Missing => write!(f, "missing"),
            FieldProblem::Duplicate => write!(f, "given twice"),
            FieldProblem::Expected(what) => write!(f, "expected {what}"),
            FieldProblem::TooLong { max } => write!(f, "longer than {max} bytes"),
            FieldProblem::TooMany { max } => write!(f, "more than {max} values"),
            FieldProblem::EndsEarly => write!(f, "the file ends before this value does"),
            FieldProblem::NotJson => write!(f, "not valid JSON (here or just after)"),
            FieldProblem::TrailingText => write!(f, "text after the closing brace"),
            FieldProblem::TooDeep => write!(
                f,
                "arrays and objects nest more than {} deep",
                super::manifest::MAX_NESTING
            ),
        }
    }
}

/// The value being read (where, and what it must be) and, once something fails, what failed
/// there. serde-json-core's errors carry no text, so the visitors leave the detail here.
struct Context {
    path: FieldPath,
    expected: &'static str,
    problem: Option<FieldProblem>,
}

type JsonError = serde_json_core::de::Error;

impl Context {
    /// Records `problem` at `path` (the first failure wins: outer frames only pass it up).
    fn fail<E: de::Error>(&mut self, path: FieldPath, problem: FieldProblem) -> E {
        if self.problem.is_none() {
            self.path = path;
            self.problem = Some(problem);
        }
        E::custom("")
    }

    /// Reading `path` next, which must be `expected`.
    fn at(&mut self, path: FieldPath, expected: &'static str) {
        self.path = path;
        self.expected = expected;
    }

    /// The error of a failed parse: the recorded problem, else one read off the JSON error at
    /// the value being read. A wrong type, a number out of range and a value serde refused
    /// are "expected ..."; the rest is broken JSON.
    fn into_error(self, e: &JsonError) -> CoreError {
        use serde_json_core::de::Error as J;
        let problem = self.problem.unwrap_or(match e {
            J::EofWhileParsingList
            | J::EofWhileParsingObject
            | J::EofWhileParsingString
            | J::EofWhileParsingNumber
            | J::EofWhileParsingValue => FieldProblem::EndsEarly,
            J::TrailingCharacters if self.path.is_root() => FieldProblem::TrailingText,
            // Right after a value: a number's fraction where an integer belongs, a third
            // element of [rows, columns].
            J::TrailingCharacters
            | J::ExpectedObjectCommaOrEnd
            | J::ExpectedListCommaOrEnd
            | J::InvalidType
            | J::InvalidNumber
            | J::CustomError
            | J::ExpectedSomeIdent
            | J::ExpectedSomeValue => FieldProblem::Expected(self.expected),
            _ => FieldProblem::NotJson,
        });
        CoreError::ManifestSyntax {
            field: self.path,
            problem,
        }
    }
}

/// Reads a value of type `T` at `path`, which must be `what`.
fn value<'de, T: de::Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Context,
    path: FieldPath,
    what: &'static str,
) -> Result<T, A::Error> {
    ctx.at(path, what);
    map.next_value::<T>()
}

/// Bits of the fields seen in one object, for "missing" and "given twice".
struct Seen(u32);

impl Seen {
    fn mark<E: de::Error>(
        &mut self,
        bit: u32,
        ctx: &mut Context,
        path: FieldPath,
    ) -> Result<(), E> {
        if self.0 & bit != 0 {
            return Err(ctx.fail(path, FieldProblem::Duplicate));
        }
        self.0 |= bit;
        Ok(())
    }

    /// The first field of `fields` in `required` not seen, as a "missing" error.
    fn require<E: de::Error>(
        &self,
        fields: &[&'static str],
        required: u32,
        ctx: &mut Context,
        at: FieldPath,
    ) -> Result<(), E> {
        let missing = (0..fields.len()).find(|i| required & !self.0 & (1 << i) != 0);
        match missing {
            Some(i) => Err(ctx.fail(at.then(PathStep::Key(fields[i])), FieldProblem::Missing)),
            None => Ok(()),
        }
    }
}

/// `key` as one of `fields` (its static name and its bit), or None for a field this runtime
/// does not know.
fn known(fields: &[&'static str], key: &str) -> Option<(&'static str, u32)> {
    let i = fields.iter().position(|f| *f == key)?;
    Some((fields[i], 1 << i))
}

/// Reads one JSON object's fields: each key of `fields` at most once (`read` gets its bit and
/// path), keys this runtime does not know skipped (fields of later versions; their nesting was
/// bounded before parsing), and the fields in `required` checked for at the end.
fn read_object<'de, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Context,
    at: FieldPath,
    fields: &[&'static str],
    required: u32,
    mut read: impl FnMut(&mut A, &mut Context, u32, FieldPath) -> Result<(), A::Error>,
) -> Result<(), A::Error> {
    let mut seen = Seen(0);
    // The path stays at the value just read: a number with a fraction or an exponent where an
    // integer belongs ("1.0", "3.2e1") fails at the comma expected after the integer part, and
    // belongs to that value.
    while let Some(key) = map.next_key::<&str>()? {
        let Some((name, bit)) = known(fields, key) else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        let path = at.then(PathStep::Key(name));
        seen.mark(bit, ctx, path)?;
        read(map, ctx, bit, path)?;
    }
    seen.require(fields, required, ctx, at)
}

/// A string of at most `N` bytes.
fn string<'de, const N: usize, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Context,
    path: FieldPath,
    out: &mut String<N>,
) -> Result<(), A::Error> {
    let s: &str = value(map, ctx, path, "a string")?;
    out.clear();
    out.push_str(s)
        .map_err(|_| ctx.fail(path, FieldProblem::TooLong { max: N }))
}

/// A string naming one of `names`' values.
fn one_of<'de, T: Copy, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Context,
    path: FieldPath,
    names: &[(&str, T)],
    what: &'static str,
) -> Result<T, A::Error> {
    let s: &str = value(map, ctx, path, what)?;
    names
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| ctx.fail(path, FieldProblem::Expected(what)))
}

impl Manifest {
    /// Parses manifest JSON into `out`, in place: no copy of the manifest is made on the stack,
    /// so a device can keep `out` in a `static` and parse with a few KiB of stack. Validated
    /// like [`Manifest::parse`]; on error `out` holds no usable manifest.
    pub fn parse_into(json: &[u8], out: &mut Manifest) -> Result<(), CoreError> {
        if !super::manifest::nesting_within(json, super::manifest::MAX_NESTING) {
            return Err(CoreError::ManifestSyntax {
                field: FieldPath::ROOT,
                problem: FieldProblem::TooDeep,
            });
        }
        let mut ctx = Context {
            path: FieldPath::ROOT,
            expected: "an object",
            problem: None,
        };
        let mut de = serde_json_core::de::Deserializer::new(json, None);
        let read = (&mut de)
            .deserialize_map(ManifestVisitor { out, ctx: &mut ctx })
            .and_then(|()| {
                ctx.at(FieldPath::ROOT, "the end of the file");
                de.end().map(drop)
            });
        if let Err(e) = read {
            return Err(ctx.into_error(&e));
        }
        out.validate()
    }
}

/// A seed that hands the deserializer itself (as a visitor) to `method`.
macro_rules! seed {
    ($seed:ident, $method:ident) => {
        impl<'de> DeserializeSeed<'de> for $seed<'_> {
            type Value = ();

            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.$method(self)
            }
        }
    };
}

struct ManifestVisitor<'a> {
    out: &'a mut Manifest,
    ctx: &'a mut Context,
}

/// The manifest's fields; field `i`'s bit in [`Seen`] is `1 << i`.
const MANIFEST_FIELDS: [&str; 13] = [
    "format_version",
    "trainer_version",
    "input_dim",
    "latent",
    "image_shape",
    "scaling",
    "gamma_stage1",
    "gamma_stage2",
    "robust",
    "graphs",
    "outlier",
    "standardization",
    "micro",
];
const FORMAT_VERSION_BIT: u32 = 1;
const TRAINER_VERSION_BIT: u32 = 1 << 1;
const INPUT_DIM_BIT: u32 = 1 << 2;
const LATENT_BIT: u32 = 1 << 3;
const IMAGE_SHAPE_BIT: u32 = 1 << 4;
const SCALING_BIT: u32 = 1 << 5;
const GAMMA1_BIT: u32 = 1 << 6;
const GAMMA2_BIT: u32 = 1 << 7;
const ROBUST_BIT: u32 = 1 << 8;
const GRAPHS_BIT: u32 = 1 << 9;
const STANDARDIZATION_BIT: u32 = 1 << 11;
const MICRO_BIT: u32 = 1 << 12;
/// All but image_shape, robust and outlier.
const MANIFEST_REQUIRED: u32 = FORMAT_VERSION_BIT
    | TRAINER_VERSION_BIT
    | INPUT_DIM_BIT
    | LATENT_BIT
    | SCALING_BIT
    | GAMMA1_BIT
    | GAMMA2_BIT
    | GRAPHS_BIT;

const U32: &str = "an integer from 0 to 4294967295";
const NUMBER: &str = "a number";

impl<'de> Visitor<'de> for ManifestVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an edgevae manifest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (out, ctx) = (self.out, self.ctx);
        // Optional fields' defaults; the others must be given.
        out.image_shape = None;
        out.robust = false;
        out.outlier = None;
        out.standardization = None;
        out.graphs.clear();
        out.micro.clear();
        let root = FieldPath::ROOT;
        read_object(
            &mut map,
            ctx,
            root,
            &MANIFEST_FIELDS,
            MANIFEST_REQUIRED,
            |map, ctx, bit, path| {
                match bit {
                    FORMAT_VERSION_BIT => out.format_version = value(map, ctx, path, U32)?,
                    TRAINER_VERSION_BIT => string(map, ctx, path, &mut out.trainer_version)?,
                    INPUT_DIM_BIT => out.input_dim = value(map, ctx, path, U32)?,
                    LATENT_BIT => out.latent = value(map, ctx, path, U32)?,
                    IMAGE_SHAPE_BIT => {
                        out.image_shape = value(map, ctx, path, "null or [rows, columns]")?
                    }
                    SCALING_BIT => {
                        out.scaling = one_of(
                            map,
                            ctx,
                            path,
                            &[("unit", Scaling::Unit), ("real", Scaling::Real)],
                            "\"unit\" or \"real\"",
                        )?
                    }
                    GAMMA1_BIT => out.gamma_stage1 = value(map, ctx, path, NUMBER)?,
                    GAMMA2_BIT => out.gamma_stage2 = value(map, ctx, path, NUMBER)?,
                    ROBUST_BIT => out.robust = value(map, ctx, path, "true or false")?,
                    GRAPHS_BIT => {
                        ctx.at(path, "an array of graph objects");
                        map.next_value_seed(ListSeed {
                            out: &mut out.graphs,
                            ctx,
                            path,
                        })?
                    }
                    MICRO_BIT => {
                        ctx.at(path, "an array of micro blob objects");
                        map.next_value_seed(ListSeed {
                            out: &mut out.micro,
                            ctx,
                            path,
                        })?
                    }
                    STANDARDIZATION_BIT => {
                        out.standardization = value(
                            map,
                            ctx,
                            path,
                            "null or {\"center\": number, \"scale\": number}",
                        )?
                    }
                    _ => {
                        ctx.at(path, "null or an outlier calibration object");
                        map.next_value_seed(OutlierSeed {
                            out: &mut out.outlier,
                            ctx,
                            path,
                        })?
                    }
                }
                Ok(())
            },
        )
    }
}

/// An entry of one of the manifest's file lists (`graphs`, `micro`): blank until read, then
/// filled field by field.
trait ListedEntry: Sized {
    /// What one entry is, for errors.
    const WHAT: &'static str;
    /// The entry's fields; field `i`'s bit is `1 << i`.
    const FIELDS: &'static [&'static str];
    const REQUIRED: u32;
    fn blank() -> Self;
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        ctx: &mut Context,
        bit: u32,
        path: FieldPath,
    ) -> Result<(), A::Error>;
}

/// The fields both lists start with, in this order.
const ROLE_BIT: u32 = 1;
const PRECISION_BIT: u32 = 1 << 1;
const FILE_BIT: u32 = 1 << 2;
const SHA_BIT: u32 = 1 << 3;
const BYTES_BIT: u32 = 1 << 4;

fn role<'de, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Context,
    path: FieldPath,
) -> Result<GraphRole, A::Error> {
    one_of(
        map,
        ctx,
        path,
        &[GraphRole::Sampler, GraphRole::Filter].map(|r| (r.name(), r)),
        "\"sampler\" or \"filter\"",
    )
}

const BYTE_COUNT: &str = "a byte count (a non-negative integer)";

impl ListedEntry for GraphEntry {
    const WHAT: &'static str = "a graph object";
    const FIELDS: &'static [&'static str] = &["role", "precision", "file", "sha256", "bytes"];
    const REQUIRED: u32 = (1 << 5) - 1;

    fn blank() -> Self {
        GraphEntry {
            role: GraphRole::Sampler,
            precision: Precision::Fp32,
            file: String::new(),
            sha256: String::new(),
            bytes: 0,
        }
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        ctx: &mut Context,
        bit: u32,
        path: FieldPath,
    ) -> Result<(), A::Error> {
        match bit {
            ROLE_BIT => self.role = role(map, ctx, path)?,
            PRECISION_BIT => {
                self.precision = one_of(
                    map,
                    ctx,
                    path,
                    &Precision::ALL.map(|p| (p.name(), p)),
                    "\"fp32\", \"fp16\" or \"fp16w\"",
                )?
            }
            FILE_BIT => string(map, ctx, path, &mut self.file)?,
            SHA_BIT => string(map, ctx, path, &mut self.sha256)?,
            _ => self.bytes = value(map, ctx, path, BYTE_COUNT)?,
        }
        Ok(())
    }
}

impl ListedEntry for MicroEntry {
    const WHAT: &'static str = "a micro blob object";
    const FIELDS: &'static [&'static str] =
        &["role", "precision", "file", "sha256", "bytes", "width"];
    const REQUIRED: u32 = (1 << 6) - 1;

    fn blank() -> Self {
        MicroEntry {
            role: GraphRole::Sampler,
            precision: MicroPrecision::Fp32,
            file: String::new(),
            sha256: String::new(),
            bytes: 0,
            width: 0,
        }
    }

    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        ctx: &mut Context,
        bit: u32,
        path: FieldPath,
    ) -> Result<(), A::Error> {
        match bit {
            ROLE_BIT => self.role = role(map, ctx, path)?,
            PRECISION_BIT => {
                self.precision = one_of(
                    map,
                    ctx,
                    path,
                    &MicroPrecision::ALL.map(|p| (p.name(), p)),
                    "\"fp32\", \"fp16\" or \"int8\"",
                )?
            }
            FILE_BIT => string(map, ctx, path, &mut self.file)?,
            SHA_BIT => string(map, ctx, path, &mut self.sha256)?,
            BYTES_BIT => self.bytes = value(map, ctx, path, BYTE_COUNT)?,
            // width, the last field
            _ => self.width = value(map, ctx, path, U32)?,
        }
        Ok(())
    }
}

/// A list of [`ListedEntry`]s, at most `N`.
struct ListSeed<'a, T, const N: usize> {
    out: &'a mut Vec<T, N>,
    ctx: &'a mut Context,
    path: FieldPath,
}

impl<'de, T: ListedEntry, const N: usize> DeserializeSeed<'de> for ListSeed<'_, T, N> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: ListedEntry, const N: usize> Visitor<'de> for ListSeed<'_, T, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {}", T::WHAT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (out, ctx) = (self.out, self.ctx);
        out.clear();
        loop {
            let index = out.len() as u32;
            let path = self.path.then(PathStep::Index(index));
            ctx.at(path, T::WHAT);
            let mut entry = T::blank();
            let more = seq.next_element_seed(EntrySeed {
                out: &mut entry,
                ctx: &mut *ctx,
                path,
            })?;
            if more.is_none() {
                return Ok(());
            }
            out.push(entry)
                .map_err(|_| ctx.fail(self.path, FieldProblem::TooMany { max: N }))?;
        }
    }
}

struct EntrySeed<'a, T> {
    out: &'a mut T,
    ctx: &'a mut Context,
    path: FieldPath,
}

impl<'de, T: ListedEntry> DeserializeSeed<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: ListedEntry> Visitor<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.out;
        read_object(
            &mut map,
            self.ctx,
            self.path,
            T::FIELDS,
            T::REQUIRED,
            |map, ctx, bit, path| out.read(map, ctx, bit, path),
        )
    }
}

struct OutlierSeed<'a> {
    out: &'a mut Option<OutlierThresholds>,
    ctx: &'a mut Context,
    path: FieldPath,
}

seed!(OutlierSeed, deserialize_option);

const OUTLIER_FIELDS: [&str; 5] = [
    "score_threshold",
    "element_threshold",
    "contamination",
    "element_noise",
    "value_range",
];
const SCORE_BIT: u32 = 1;
const ELEMENT_BIT: u32 = 1 << 1;
const CONTAMINATION_BIT: u32 = 1 << 2;
const NOISE_BIT: u32 = 1 << 3;
const RANGE_BIT: u32 = 1 << 4;
/// All but value_range.
const OUTLIER_REQUIRED: u32 = SCORE_BIT | ELEMENT_BIT | CONTAMINATION_BIT | NOISE_BIT;

impl<'de> Visitor<'de> for OutlierSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("null or an outlier calibration object")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        *self.out = None;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.visit_none()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Filled where it stays: the required fields are all written below, the others reset.
        let out = self.out.insert(OutlierThresholds::EMPTY);
        read_object(
            &mut map,
            self.ctx,
            self.path,
            &OUTLIER_FIELDS,
            OUTLIER_REQUIRED,
            |map, ctx, bit, path| {
                match bit {
                    SCORE_BIT => out.score_threshold = value(map, ctx, path, NUMBER)?,
                    ELEMENT_BIT => out.element_threshold = value(map, ctx, path, NUMBER)?,
                    CONTAMINATION_BIT => out.contamination = value(map, ctx, path, NUMBER)?,
                    RANGE_BIT => out.value_range = value(map, ctx, path, "null or [min, max]")?,
                    _ => {
                        ctx.at(path, "an array of numbers");
                        map.next_value_seed(NoiseSeed {
                            out: &mut out.element_noise,
                            ctx,
                            path,
                        })?
                    }
                }
                Ok(())
            },
        )
    }
}

struct NoiseSeed<'a> {
    out: &'a mut Vec<f32, { super::manifest::MAX_CALIBRATED_DIM }>,
    ctx: &'a mut Context,
    path: FieldPath,
}

seed!(NoiseSeed, deserialize_seq);

impl<'de> Visitor<'de> for NoiseSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (out, ctx) = (self.out, self.ctx);
        loop {
            let path = self.path.then(PathStep::Index(out.len() as u32));
            ctx.at(path, NUMBER);
            let Some(v) = seq.next_element::<f32>()? else {
                return Ok(());
            };
            out.push(v).map_err(|_| {
                ctx.fail(
                    self.path,
                    FieldProblem::TooMany {
                        max: super::manifest::MAX_CALIBRATED_DIM,
                    },
                )
            })?;
        }
    }
}
