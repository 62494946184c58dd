! seir.f90: a stochastic SEIR epidemic as a simbi simulator plugin, in Fortran alone.
!
! A closed population of N moves S -> E -> I -> R by a daily chain binomial (Reed-Frost style,
! e.g. Allen 2008, "An introduction to stochastic epidemic models", sec. 3): each day
!   new exposures   ~ Binomial(S, 1 - exp(-beta I / N)),
!   new infectious  ~ Binomial(E, 1 - exp(-sigma)),
!   new recoveries  ~ Binomial(I, 1 - exp(-gamma)).
! theta = (beta, gamma); sigma = 1/5 per day (config "incubation_days"). The output is the
! number infectious every 10th day over 100 days, divided by N.
!
!   cmake -S . -B build -DCMAKE_PREFIX_PATH=<simbi prefix> && cmake --build build
!   simbi plugins check build/simbi_seir.so
module seir
  use, intrinsic :: iso_c_binding
  use simbi
  implicit none
  private
  public :: seir_simulate

  integer, parameter :: outputs = 10, days = 100

contains

  ! Binomial(n, p): by inversion of the CDF for a small mean, else the normal approximation.
  integer(c_int64_t) function binomial(rng, n, p)
    type(simbi_rng), intent(inout) :: rng
    integer(c_int64_t), intent(in) :: n
    real(c_double), intent(in) :: p
    real(c_double) :: u, f, q
    integer(c_int64_t) :: k
    binomial = 0
    if (n <= 0 .or. p <= 0) return
    if (p >= 1) then
      binomial = n
      return
    end if
    if (n * p < 20) then
      u = simbi_rng_uniform(rng)
      q = 1 - p
      f = q**n           ! P(K = 0)
      k = 0
      do while (u > f .and. k < n)
        u = u - f
        f = f * p / q * real(n - k, c_double) / real(k + 1, c_double)
        k = k + 1
      end do
      binomial = k
    else
      binomial = nint(n * p + sqrt(n * p * (1 - p)) * simbi_rng_normal(rng), c_int64_t)
      binomial = max(0_c_int64_t, min(n, binomial))
    end if
  end function

  ! The ABI's simulate (simbi/simulator.h): theta(2, n) read, x(outputs, n) and valid(n) written;
  ! row i draws only from the stream (seed, row_offset + i - 1).
  function seir_simulate(self, n, theta, seed, row_offset, x, valid, err) bind(C) result(status)
    type(c_ptr), value :: self
    integer(c_int64_t), value :: n, seed, row_offset
    real(c_double), intent(in) :: theta(2, *)
    real(c_double), intent(inout) :: x(outputs, *)
    integer(c_int8_t), intent(inout) :: valid(*)
    type(c_ptr), value :: err
    integer(c_int32_t) :: status
    type(simbi_rng) :: rng
    real(c_double) :: population, incubation
    integer(c_int64_t) :: i, s, e, inf, r, new_e, new_i, new_r, pop
    integer :: day
    if (.not. simbi_config_real(self, "population", population) .or. &
        .not. simbi_config_real(self, "incubation_days", incubation)) then
      status = simbi_error_set(err, SIMBI_ERROR, "seir: the config lacks population or incubation_days")
      return
    end if
    pop = nint(population, c_int64_t)
    do i = 1, n
      call simbi_rng_init(rng, seed, row_offset + i - 1)
      inf = max(1_c_int64_t, pop / 100)
      s = pop - inf
      e = 0
      r = 0
      do day = 1, days
        new_e = binomial(rng, s, 1 - exp(-theta(1, i) * real(inf, c_double) / population))
        new_i = binomial(rng, e, 1 - exp(-1 / incubation))
        new_r = binomial(rng, inf, 1 - exp(-theta(2, i)))
        s = s - new_e
        e = e + new_e - new_i
        inf = inf + new_i - new_r
        r = r + new_r
        if (mod(day, days / outputs) == 0) x(day / (days / outputs), i) = real(inf, c_double) / population
      end do
      valid(i) = 1_c_int8_t
    end do
    status = SIMBI_OK
  end function

end module seir

! What the library offers: called once, when simbi loads it.
function simbi_fortran_factory() bind(C, name="simbi_fortran_factory") result(factory)
  use, intrinsic :: iso_c_binding
  use simbi
  use seir
  implicit none
  type(c_ptr) :: factory
  if (.not. simbi_has_plugins()) then
    call simbi_add_simulator(id="user.seir", name="SEIR epidemic (Fortran)", version="1.0.0", &
      description="Stochastic SEIR chain binomial: the infectious fraction every 10th day of 100, for (beta, gamma).", &
      param_names=[character(len=8) :: "beta", "gamma"], output_dim=10, &
      prior_json='{"type": "box_uniform", "low": [0.1, 0.05], "high": [1.0, 0.5]}', &
      config_schema_json='{"type": "object", "additionalProperties": false, "properties": {' // &
        '"population": {"type": "integer", "default": 10000, "minimum": 100, "maximum": 100000000, ' // &
        '"description": "people in the closed population"}, ' // &
        '"incubation_days": {"type": "number", "default": 5, "exclusiveMinimum": 0, ' // &
        '"description": "mean days from exposure to infectiousness"}}}', &
      simulate=c_funloc(seir_simulate))
  end if
  factory = simbi_factory_pointer()
end function
