//! `sprites`: 28x28 anti-aliased images of one shape each, generated from a seed. Four continuous
//! factors (x, y, scale, rotation) and one discrete factor (square, ellipse, triangle), so a
//! VAE that finds the manifold should use about five latent dimensions.

use crate::rng::SeededRng;

pub const SIDE: usize = 28;
pub const CONTINUOUS_FACTORS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Square,
    Ellipse,
    Triangle,
}

/// The generating factors of one sprite.
#[derive(Clone, Copy, Debug)]
pub struct Factors {
    pub shape: Shape,
    /// Centre in pixels.
    pub x: f32,
    pub y: f32,
    /// Half-extent in pixels.
    pub scale: f32,
    /// Radians in [0, pi/3): narrower than every shape's symmetry, so no two angles look alike.
    pub rotation: f32,
}

impl Factors {
    pub fn draw(rng: &mut SeededRng) -> Self {
        let shape = match rng.below(3) {
            0 => Shape::Square,
            1 => Shape::Ellipse,
            _ => Shape::Triangle,
        };
        let scale = rng.uniform_range(4.0, 7.0);
        Self {
            shape,
            x: rng.uniform_range(8.5, 19.5),
            y: rng.uniform_range(8.5, 19.5),
            scale,
            rotation: rng.uniform_range(0.0, std::f32::consts::FRAC_PI_3),
        }
    }

    /// Signed distance in pixels from (px, py) to the shape's edge (negative inside).
    fn signed_distance(&self, px: f32, py: f32) -> f32 {
        let (s, c) = self.rotation.sin_cos();
        let dx = px - self.x;
        let dy = py - self.y;
        let u = c * dx + s * dy;
        let v = -s * dx + c * dy;
        let a = self.scale;
        match self.shape {
            Shape::Square => {
                let h = 0.8 * a;
                u.abs().max(v.abs()) - h
            }
            Shape::Ellipse => {
                let (ax, ay) = (a, 0.55 * a);
                ((u / ax).powi(2) + (v / ay).powi(2))
                    .sqrt()
                    .mul_add(ay, -ay)
            }
            Shape::Triangle => {
                // Equilateral triangle: the largest distance to its three edge lines.
                let r = 0.6 * a;
                (0..3)
                    .map(|k| {
                        let ang = std::f32::consts::FRAC_PI_2
                            + k as f32 * 2.0 * std::f32::consts::FRAC_PI_3;
                        u * ang.cos() + v * ang.sin()
                    })
                    .fold(f32::MIN, f32::max)
                    - r
            }
        }
    }

    /// Renders into a SIDE*SIDE buffer with a one-pixel soft edge (smooth images are easier to fit).
    pub fn render(&self, out: &mut [f32]) {
        for row in 0..SIDE {
            for col in 0..SIDE {
                let d = self.signed_distance(col as f32 + 0.5, row as f32 + 0.5);
                out[row * SIDE + col] = (0.5 - d).clamp(0.0, 1.0);
            }
        }
    }
}

/// `n` sprites as rows of SIDE*SIDE values in [0, 1], with their factors.
pub fn generate(n: usize, seed: u64) -> (Vec<f32>, Vec<Factors>) {
    let mut rng = SeededRng::derive(seed, "sprites", 0);
    let mut values = vec![0.0f32; n * SIDE * SIDE];
    let mut factors = Vec::with_capacity(n);
    for img in values.chunks_exact_mut(SIDE * SIDE) {
        let f = Factors::draw(&mut rng);
        f.render(img);
        factors.push(f);
    }
    (values, factors)
}
