//! Principal components of region embeddings (for the embedding tracks and the report's
//! scatter plot): rows are streamed into f64 sums of values and cross-products
//! ([`PcaAccumulator`]), so an embeddings.npy of any length is read once; the
//! covariance matrix (`d x d`) is diagonalised with cyclic Jacobi rotations. Each
//! component's sign is fixed (its largest-magnitude loading is positive), so the same
//! rows always give the same components.

/// Sums of rows and of their cross-products, relative to the first row (which keeps
/// the sums small and the covariance accurate).
#[derive(Debug, Clone)]
pub struct PcaAccumulator {
    d: usize,
    n: u64,
    shift: Vec<f64>,
    sum: Vec<f64>,
    cross: Vec<f64>,
}

/// Fitted components.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// The mean row.
    pub mean: Vec<f64>,
    /// Unit-length components, largest variance first.
    pub components: Vec<Vec<f64>>,
    /// The variance along each component.
    pub variances: Vec<f64>,
    /// The total variance (trace of the covariance matrix).
    pub total_variance: f64,
}

impl PcaAccumulator {
    /// An accumulator for rows of `d` values.
    pub fn new(d: usize) -> PcaAccumulator {
        PcaAccumulator {
            d,
            n: 0,
            shift: Vec::new(),
            sum: vec![0.0; d],
            cross: vec![0.0; d * d],
        }
    }

    /// Adds one row (`d` values).
    pub fn add(&mut self, row: &[f32]) {
        if self.n == 0 {
            self.shift = row.iter().map(|&v| f64::from(v)).collect();
        }
        self.n += 1;
        let d = self.d;
        let y: Vec<f64> = row
            .iter()
            .zip(&self.shift)
            .map(|(&v, s)| f64::from(v) - s)
            .collect();
        for i in 0..d {
            self.sum[i] += y[i];
            let yi = y[i];
            let cross = &mut self.cross[i * d..(i + 1) * d];
            for (c, &yj) in cross[i..].iter_mut().zip(&y[i..]) {
                *c += yi * yj;
            }
        }
    }

    /// The first `k` components (at most `d`) of the rows added.
    pub fn finish(self, k: usize) -> Pca {
        let d = self.d;
        let k = k.min(d);
        let n = self.n as f64;
        let mean_y: Vec<f64> = self.sum.iter().map(|s| s / n.max(1.0)).collect();
        let mut cov = vec![0.0; d * d];
        if self.n > 1 {
            for i in 0..d {
                for j in i..d {
                    let c = (self.cross[i * d + j] - n * mean_y[i] * mean_y[j]) / (n - 1.0);
                    cov[i * d + j] = c;
                    cov[j * d + i] = c;
                }
            }
        }
        let mean = if self.shift.is_empty() {
            vec![0.0; d]
        } else {
            mean_y.iter().zip(&self.shift).map(|(m, s)| m + s).collect()
        };
        let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
        let (values, vectors) = symmetric_eigen(cov, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        let mut components = Vec::with_capacity(k);
        let mut variances = Vec::with_capacity(k);
        for &j in order.iter().take(k) {
            let mut c: Vec<f64> = (0..d).map(|i| vectors[i * d + j]).collect();
            let big = c
                .iter()
                .copied()
                .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            if big < 0.0 {
                c.iter_mut().for_each(|v| *v = -*v);
            }
            components.push(c);
            variances.push(values[j].max(0.0));
        }
        Pca {
            mean,
            components,
            variances,
            total_variance,
        }
    }
}

impl Pca {
    /// The coordinates of `row` on the components.
    pub fn project(&self, row: &[f32]) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| {
                c.iter()
                    .zip(row.iter().zip(&self.mean))
                    .map(|(w, (&x, m))| w * (f64::from(x) - m))
                    .sum()
            })
            .collect()
    }

    /// The fraction of the total variance along each component (0 when there is none).
    pub fn explained(&self) -> Vec<f64> {
        self.variances
            .iter()
            .map(|v| {
                if self.total_variance > 0.0 {
                    v / self.total_variance
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Eigenvalues and eigenvectors (columns of the returned row-major `d x d` matrix) of
/// the symmetric row-major matrix `a`, by cyclic Jacobi rotations.
fn symmetric_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|p| ((p + 1)..d).map(move |q| (p, q)))
            .map(|(p, q)| a[p * d + q] * a[p * d + q])
            .sum();
        if off <= scale * 1e-30 || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- J^T A J with J = rotation in the (p, q) plane; V <- V J
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic pseudo-random stream in [-1, 1).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn eigenpairs_of_a_symmetric_matrix_satisfy_av_equals_lambda_v() {
        let d = 7;
        let mut seed = 3;
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in i..d {
                let x = noise(&mut seed);
                a[i * d + j] = x;
                a[j * d + i] = x;
            }
        }
        let (values, v) = symmetric_eigen(a.clone(), d);
        for j in 0..d {
            for i in 0..d {
                let av: f64 = (0..d).map(|k| a[i * d + k] * v[k * d + j]).sum();
                assert!((av - values[j] * v[i * d + j]).abs() < 1e-10);
            }
            for l in 0..d {
                let dot: f64 = (0..d).map(|k| v[k * d + j] * v[k * d + l]).sum();
                let want = if j == l { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn the_first_component_follows_the_widest_spread() {
        // points along (3, 4, 0)/5 with spread 10, plus small noise, around (1, 2, 3)
        let mut seed = 11;
        let mut acc = PcaAccumulator::new(3);
        let mut rows = Vec::new();
        for i in 0..500 {
            let t = (i as f64 - 250.0) / 25.0;
            let row = [
                1.0 + 0.6 * t + 0.01 * noise(&mut seed),
                2.0 + 0.8 * t + 0.01 * noise(&mut seed),
                3.0 + 0.05 * noise(&mut seed),
            ]
            .map(|x| x as f32);
            acc.add(&row);
            rows.push(row);
        }
        let pca = acc.finish(2);
        let c = &pca.components[0];
        assert!(
            (c[0] - 0.6).abs() < 1e-3 && (c[1] - 0.8).abs() < 1e-3,
            "{c:?}"
        );
        assert!((pca.mean[2] - 3.0).abs() < 0.01);
        assert!(pca.explained()[0] > 0.999);
        assert!(pca.variances[0] > pca.variances[1]);
        // projections of the points recover t (up to the noise)
        let p = pca.project(&rows[0]);
        assert!((p[0] + 10.0).abs() < 0.05, "{p:?}");
    }

    #[test]
    fn one_row_or_none_gives_zero_variance() {
        let mut acc = PcaAccumulator::new(2);
        acc.add(&[1.0, 2.0]);
        let pca = acc.finish(3);
        assert_eq!(pca.components.len(), 2);
        assert_eq!(pca.explained(), vec![0.0, 0.0]);
        assert_eq!(pca.project(&[1.0, 2.0]), vec![0.0, 0.0]);
        assert_eq!(PcaAccumulator::new(2).finish(1).mean, vec![0.0, 0.0]);
    }
}
