"""The backend protocol: every name an adapter (numpy, torch, jax) exports, with its semantics.

An adapter is a package ``polyro.backends.<name>`` with the modules ``special``, ``linalg``,
``autodiff``, ``control_flow``, ``tree`` and ``random``, whose public names are re-exported flat
from the package. Core and inference code reach them as ``be = polyro.backends.current()`` (or
``backend_of(*arrays)``) and never ask which engine ``be`` is; differences are the capability
flags. :class:`Backend` below is the typed statement of the protocol, and :data:`PROTOCOL` lists
the names per module (the tests check every adapter against it).

Shared conventions:

* "array" means an array of the adapter's engine; every function also accepts numpy arrays and
  Python numbers, converted once by :func:`Backend.asarray` (float data takes the policy float
  dtype). An array of *another* non-numpy engine raises :class:`polyro.errors.MixedBackendError`.
* Semantics follow JAX wherever JAX defines them (autodiff, control flow, vmap, pytrees, random),
  so that one algorithm written against this protocol behaves the same on every engine.
* Failure semantics are aligned: :meth:`Backend.cholesky` of a non-positive-definite matrix gives
  NaN everywhere (JAX cannot raise under ``jit``); numpy's autodiff functions raise
  :class:`polyro.errors.AutodiffUnavailableError`.

>>> import polyro.backends as B
>>> be = B.get("numpy")
>>> missing = [n for names in PROTOCOL.values() for n in names if not hasattr(be, n)]
>>> missing
[]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["PROTOCOL", "Backend", "protocol_names"]

#: The protocol's flat names, grouped by the adapter module that defines them.
PROTOCOL: dict[str, tuple[str, ...]] = {
    "meta": (
        "NAME", "SUPPORTS_AUTODIFF", "SUPPORTS_JIT", "SUPPORTS_VMAP", "xp", "is_array",
        "asarray", "to_numpy", "host_view", "float_dtype", "dtype", "device_put", "default_device",
    ),
    "special": (
        "lgamma", "digamma", "polygamma", "erf", "erfc", "erfinv", "ndtr", "log_ndtr", "ndtri",
        "xlogy", "xlog1py", "logsumexp", "log_softmax", "softmax", "softplus", "expit", "logit",
        "log1mexp", "lbeta", "multigammaln", "gammainc", "gammaincc", "betainc", "i0e", "i1e",
    ),
    "linalg": ("cholesky", "solve_triangular", "cho_solve", "slogdet", "inv", "solve"),
    "autodiff": ("value_and_grad", "grad", "jacobian", "stop_gradient"),
    "control_flow": (
        "jit", "while_loop", "fori_loop", "cond", "scan", "associative_scan", "vmap",
        "index_update", "index_add",
    ),
    "tree": ("tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure"),
    "random": (
        "key", "split", "fold_in", "random_bits", "uniform", "normal", "exponential", "gumbel",
        "cauchy", "laplace", "logistic", "gamma", "beta", "dirichlet", "poisson", "binomial",
        "bernoulli", "categorical", "multinomial",
    ),
}


def protocol_names() -> list[str]:
    """Every name of the protocol, flat.

    >>> "value_and_grad" in protocol_names()
    True
    """
    return [n for names in PROTOCOL.values() for n in names]


Array = Any
PyTree = Any


@runtime_checkable
class Backend(Protocol):
    """What every adapter module provides (a module satisfies this Protocol structurally).

    >>> import polyro.backends as B
    >>> isinstance(B.get("numpy"), Backend)
    True
    """

    # ----------------------------------------------------------------------------- meta
    #: 'numpy', 'torch' or 'jax'.
    NAME: str
    #: value_and_grad/grad/jacobian work (False on numpy: they raise AutodiffUnavailableError).
    SUPPORTS_AUTODIFF: bool
    #: jit compiles (True on JAX only; elsewhere jit is the identity).
    SUPPORTS_JIT: bool
    #: vmap is vectorized by the engine (numpy's vmap works, as a Python loop).
    SUPPORTS_VMAP: bool
    #: The array-API namespace (array_api_compat.numpy / array_api_compat.torch / jax.numpy).
    xp: Any

    def is_array(self, x: Any) -> bool:
        """True for an array of this engine (JAX: including tracers)."""

    def asarray(self, x: Any, dtype: Any = None) -> Array:
        """``x`` as an engine array: own arrays unchanged (no copy) unless ``dtype`` is given;
        Python/numpy float data in the policy float dtype; foreign engine arrays refused."""

    def to_numpy(self, x: Any) -> Any:
        """A numpy array with the values of ``x`` (detached, on the host)."""

    def host_view(self, x: Any) -> Any:
        """The values of a concrete array that lives in host memory, as numpy without a device
        transfer (a zero-copy view where the engine allows); None for a traced value or an
        array on an accelerator. Validation checks such values in numpy: no per-shape compile
        on JAX, no small-op dispatch on torch, no device copy on a GPU."""

    def float_dtype(self) -> Any:
        """The default float dtype object of the policy (polyro.set_default_dtype)."""

    def dtype(self, name: Any) -> Any:
        """The engine's dtype object for 'float32', 'float64', 'int32', 'int64', 'uint32', 'bool',
        ... ('float' = the policy float)."""

    def device_put(self, x: Any, device: Any = None) -> Array:
        """``x`` as an array on ``device`` (engine device object or a name like 'cpu')."""

    def default_device(self) -> Any:
        """The device new arrays go to."""

    # -------------------------------------------------------------------------- special
    def lgamma(self, x: Any) -> Array:
        """log|Gamma(x)|."""

    def digamma(self, x: Any) -> Array:
        """Derivative of lgamma."""

    def polygamma(self, n: int, x: Any) -> Array:
        """n-th derivative of digamma (n a non-negative integer)."""

    def erf(self, x: Any) -> Array:
        """Error function."""

    def erfc(self, x: Any) -> Array:
        """1 - erf(x)."""

    def erfinv(self, x: Any) -> Array:
        """Inverse error function on (-1, 1)."""

    def ndtr(self, x: Any) -> Array:
        """Standard normal CDF."""

    def log_ndtr(self, x: Any) -> Array:
        """log of the standard normal CDF (accurate in the lower tail)."""

    def ndtri(self, p: Any) -> Array:
        """Standard normal quantile."""

    def xlogy(self, x: Any, y: Any) -> Array:
        """x * log(y), 0 where x == 0."""

    def xlog1py(self, x: Any, y: Any) -> Array:
        """x * log1p(y), 0 where x == 0."""

    def logsumexp(self, x: Any, axis: Any = None, keepdims: bool = False) -> Array:
        """log(sum(exp(x), axis)); axis None reduces every axis."""

    def log_softmax(self, x: Any, axis: int = -1) -> Array:
        """x - logsumexp(x, axis, keepdims=True)."""

    def softmax(self, x: Any, axis: int = -1) -> Array:
        """exp(log_softmax(x, axis))."""

    def softplus(self, x: Any) -> Array:
        """log(1 + exp(x)), stable for every x."""

    def expit(self, x: Any) -> Array:
        """Logistic sigmoid."""

    def logit(self, p: Any) -> Array:
        """log(p / (1 - p))."""

    def log1mexp(self, x: Any) -> Array:
        """log(1 - exp(x)) for x <= 0."""

    def lbeta(self, a: Any, b: Any) -> Array:
        """log B(a, b)."""

    def multigammaln(self, a: Any, d: int) -> Array:
        """log multivariate gamma of dimension d; NaN where a <= (d - 1) / 2."""

    def gammainc(self, a: Any, x: Any) -> Array:
        """Regularized lower incomplete gamma P(a, x)."""

    def gammaincc(self, a: Any, x: Any) -> Array:
        """Regularized upper incomplete gamma Q(a, x)."""

    def betainc(self, a: Any, b: Any, x: Any) -> Array:
        """Regularized incomplete beta I_x(a, b)."""

    def i0e(self, x: Any) -> Array:
        """exp(-|x|) I0(x)."""

    def i1e(self, x: Any) -> Array:
        """exp(-|x|) I1(x)."""

    # --------------------------------------------------------------------------- linalg
    def cholesky(self, a: Any) -> Array:
        """Lower Cholesky factor, batched; NaN for a non-positive-definite matrix."""

    def solve_triangular(self, a: Any, b: Any, lower: bool = True) -> Array:
        """x with a @ x = b, a triangular; b is (n,) or (..., n, k); batch axes broadcast."""

    def cho_solve(self, L: Any, b: Any) -> Array:
        """x with (L @ L^T) x = b, L the lower Cholesky factor; b as in solve_triangular."""

    def slogdet(self, a: Any) -> tuple[Array, Array]:
        """(sign, log|det a|), batched."""

    def inv(self, a: Any) -> Array:
        """Matrix inverse, batched."""

    def solve(self, a: Any, b: Any) -> Array:
        """x with a @ x = b; b is (n,) or (..., n, k); batch axes broadcast."""

    # ------------------------------------------------------------------------- autodiff
    def value_and_grad(self, fn: Callable, argnums: int | tuple[int, ...] = 0,
                       has_aux: bool = False) -> Callable:
        """fn -> (lambda *args: (value, grads)) (or ((value, aux), grads)); grads mirror the
        pytree(s) at argnums (a tuple of them when argnums is a tuple); fn returns a scalar."""

    def grad(self, fn: Callable, argnums: int | tuple[int, ...] = 0,
             has_aux: bool = False) -> Callable:
        """fn -> (lambda *args: grads) (or (grads, aux))."""

    def jacobian(self, fn: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
        """fn -> (lambda *args: J) with J of shape out.shape + in.shape (reverse mode)."""

    def stop_gradient(self, x: PyTree) -> PyTree:
        """x, with gradients blocked (identity on numpy)."""

    # --------------------------------------------------------------------- control flow
    def jit(self, fn: Callable | None = None, static_argnums: int | Sequence[int] = (),
            **kwargs: Any) -> Any:
        """Compile fn (JAX); the identity elsewhere. Decorator form allowed."""

    def while_loop(self, cond_fn: Callable, body_fn: Callable, init: PyTree) -> PyTree:
        """lax.while_loop semantics."""

    def fori_loop(self, lower: int, upper: int, body_fn: Callable, init: PyTree) -> PyTree:
        """lax.fori_loop semantics: val = body_fn(i, val) for i in [lower, upper)."""

    def cond(self, pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
        """lax.cond semantics (pred a scalar)."""

    def scan(self, f: Callable, init: PyTree, xs: PyTree = None, length: int | None = None,
             reverse: bool = False) -> tuple[PyTree, PyTree]:
        """lax.scan: (carry, ys) with ys pytrees stacked along axis 0."""

    def associative_scan(self, fn: Callable, elems: PyTree) -> PyTree:
        """lax.associative_scan along axis 0: the inclusive scan of an associative, batched
        ``fn(earlier, later)`` over a pytree of arrays (log depth)."""

    def vmap(self, fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
        """Map fn over axes of its positional arguments (in_axes: int, None, or per-argument
        tuple of int/None/containers); outputs pytrees stacked at out_axes."""

    # Optional capability (JAX only; reached with ``getattr(be, "pmap", None)``):
    # ``pmap(fn, in_axes=0, out_axes=0)`` runs fn on one device per index of the mapped axis and
    # ``device_count()`` says how many devices there are. ``MCMC(chain_method="parallel")``
    # uses them; without them it runs the chains sequentially, with a warning.

    def index_update(self, x: Any, idx: Any, v: Any) -> Array:
        """A new array equal to x with x[idx] = v (x unchanged)."""

    def index_add(self, x: Any, idx: Any, v: Any) -> Array:
        """A new array equal to x with v added at idx (repeated indices accumulate)."""

    # ---------------------------------------------------------------------------- trees
    def tree_flatten(self, tree: PyTree) -> tuple[list[Any], Any]:
        """(leaves, treedef); dict leaves in sorted key order; None is an empty subtree."""

    def tree_unflatten(self, treedef: Any, leaves: Sequence[Any]) -> PyTree:
        """Inverse of tree_flatten."""

    def tree_map(self, f: Callable, tree: PyTree, *rest: PyTree) -> PyTree:
        """f applied leaf-wise (over matching leaves of rest)."""

    def tree_leaves(self, tree: PyTree) -> list[Any]:
        """The leaves of tree."""

    def tree_structure(self, tree: PyTree) -> Any:
        """The treedef of tree."""

    # --------------------------------------------------------------------------- random
    # (implemented in <adapter>/random.py; keys are uint32 arrays of shape (2,), draws follow
    # jax.random's signatures: shape is the full output shape, dtype None = policy float)
    def key(self, seed: int) -> Array:
        """A key from an integer seed."""

    def split(self, key: Array, num: int = 2) -> Array:
        """num independent keys, shape (num, 2)."""

    def fold_in(self, key: Array, data: int) -> Array:
        """A new key derived from key and an integer."""

    def random_bits(self, key: Array, shape: tuple[int, ...] = ()) -> Array:
        """uint32 random bits."""

    def uniform(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None,
                minval: Any = 0.0, maxval: Any = 1.0) -> Array:
        """Uniform draws on [minval, maxval)."""

    def normal(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard normal draws."""

    def exponential(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard exponential draws."""

    def gumbel(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard Gumbel draws."""

    def cauchy(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard Cauchy draws."""

    def laplace(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard Laplace draws."""

    def logistic(self, key: Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Standard logistic draws."""

    def gamma(self, key: Array, a: Any, shape: tuple[int, ...] | None = None,
              dtype: Any = None) -> Array:
        """Gamma(a, 1) draws, reparameterized (implicit gradient w.r.t. a on torch/jax)."""

    def beta(self, key: Array, a: Any, b: Any, shape: tuple[int, ...] | None = None,
             dtype: Any = None) -> Array:
        """Beta(a, b) draws."""

    def dirichlet(self, key: Array, alpha: Any, shape: tuple[int, ...] | None = None,
                  dtype: Any = None) -> Array:
        """Dirichlet draws; shape excludes the event axis."""

    def poisson(self, key: Array, rate: Any, shape: tuple[int, ...] | None = None) -> Array:
        """Poisson draws."""

    def binomial(self, key: Array, n: Any, p: Any, shape: tuple[int, ...] | None = None) -> Array:
        """Binomial draws."""

    def bernoulli(self, key: Array, p: Any, shape: tuple[int, ...] | None = None) -> Array:
        """Bernoulli draws (bool)."""

    def categorical(self, key: Array, logits: Any, axis: int = -1,
                    shape: tuple[int, ...] | None = None) -> Array:
        """Categorical draws (int) from unnormalised log-probabilities."""

    def multinomial(self, key: Array, n: Any, probs: Any,
                    shape: tuple[int, ...] | None = None) -> Array:
        """Multinomial counts (float)."""
