// sbibm.bernoulli_glm: a generalized linear model of a spiking neuron (Lueckmann et al. 2017;
// sbibm "Bernoulli GLM", sufficient-statistics version).
//   psi = X theta, y_t ~ Bernoulli(sigmoid(psi_t)) for t = 1..100, x = X^T y
// X is the fixed 100 x 10 design matrix: X[t,0] = 1, X[t,j+1] = I[t-j] for t >= j, else 0,
// built from sbibm's white-noise stimulus I (reference data, sbibm, MIT license).
// Prior: theta ~ N(0, Binv^-1), Binv[0,0] = 0.5, Binv[1:,1:] = F^T F with
// F = D D + diag(sqrt(i / 9)), D = I - (first sub-diagonal of ones).
#include <simbi/simbi.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace {
const double kStimulus[100] = {
    0.496714145,   -0.138264298, 0.647688568,  1.5230298,     -0.234153375, -0.234136954, 1.57921278,   0.767434716,  -0.469474375,
    0.542560041,   -0.463417679, -0.465729743, 0.241962269,   -1.91328025,  -1.72491789,  -0.562287509, -1.01283109,  0.31424734,
    -0.908024073,  -1.41230369,  1.46564877,   -0.2257763,    0.0675282031, -1.42474818,  -0.544382751, 0.11092259,   -1.15099359,
    0.37569803,    -0.600638688, -0.291693747, -0.601706624,  1.85227823,   -0.013497225, -1.05771089,  0.822544932,  -1.22084367,
    0.208863601,   -1.95967007,  -1.32818604,  0.196861237,   0.738466561,  0.171368286,  -0.115648285, -0.301103681, -1.47852194,
    -0.719844222,  -0.460638762, 1.05712223,   0.343618304,   -1.76304018,  0.324083984,  -0.385082275, -0.676922023, 0.611676276,
    1.03099954,    0.931280136,  -0.839217544, -0.309212387,  0.331263423,  0.975545108,  -0.479174227, -0.185658976, -1.10633492,
    -1.19620657,   0.812525809,  1.35624003,   -0.0720101222, 1.00353289,   0.361636013,  -0.645119727, 0.361395597,  1.53803658,
    -0.0358260386, 1.56464362,   -2.61974502,  0.821902514,   0.0870470703, -0.299007356, 0.0917607769, -1.98756886,  -0.21967189,
    0.357112557,   1.47789407,   -0.518270195, -0.808493614,  -0.501757026, 0.915402114,  0.328751117,  -0.529760182, 0.513267457,
    0.0970775485,  0.968644977,  -0.70205307,  -0.32766214,   -0.392108142, -1.46351492,  0.296120286,  0.261055261,  0.00511345686,
    -0.234587133,
};
constexpr int T = 100, D = 10;
}  // namespace

class BernoulliGlm {
public:
    static std::string prior_json() {
        const int m = 9;
        double Dm[m][m] = {}, F[m][m] = {};
        for (int i = 0; i < m; ++i) {
            Dm[i][i] = 1.0;
            if (i > 0) Dm[i][i - 1] = -1.0;
        }
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < m; ++j) {
                for (int k = 0; k < m; ++k) F[i][j] += Dm[i][k] * Dm[k][j];
                if (i == j) F[i][j] += std::sqrt(double(i) / m);
            }
        std::string p = "[";
        for (int i = 0; i < D; ++i) {
            p += i ? ",[" : "[";
            for (int j = 0; j < D; ++j) {
                double v = 0.0;
                if (i == 0 || j == 0)
                    v = (i == 0 && j == 0) ? 0.5 : 0.0;
                else
                    for (int k = 0; k < m; ++k) v += F[k][i - 1] * F[k][j - 1];
                p += (j ? "," : "") + std::to_string(v);
            }
            p += "]";
        }
        p += "]";
        return R"({"type": "normal", "mean": [0,0,0,0,0,0,0,0,0,0], "precision": )" + p + "}";
    }

    static simbi::Info info() {
        std::vector<std::string> names{"beta_0"};
        for (int j = 1; j < D; ++j) names.push_back("filter_" + std::to_string(j));
        return simbi::Info("sbibm.bernoulli_glm", "Bernoulli GLM (sbibm)")
            .vendor("simbi")
            .description(
                "Bernoulli GLM of a spiking neuron with a 9-tap stimulus filter; x holds the spike count and spike-triggered sums (sbibm).")
            .params(names)
            .outputs(D)
            .prior(prior_json());
    }

    explicit BernoulliGlm(const simbi::Config&) {
        for (int t = 0; t < T; ++t) {
            X_[t][0] = 1.0;
            for (int j = 0; j < D - 1; ++j) X_[t][j + 1] = t >= j ? kStimulus[t - j] : 0.0;
        }
    }

    bool simulate(const double* theta, simbi::Rng& rng, double* x) const {
        for (int j = 0; j < D; ++j) x[j] = 0.0;
        for (int t = 0; t < T; ++t) {
            double psi = 0.0;
            for (int j = 0; j < D; ++j) psi += X_[t][j] * theta[j];
            double p = 1.0 / (1.0 + std::exp(-psi));
            if (rng.uniform() < p)
                for (int j = 0; j < D; ++j) x[j] += X_[t][j];
        }
        return true;
    }

private:
    double X_[T][D];
};

#ifndef SIMBI_NO_ENTRY
SIMBI_EXPORT_PLUGINS(BernoulliGlm)
#endif
