! simbi.f90: the simbi plugin ABI for Fortran 2008 (iso_c_binding). A simulator plugin is one
! Fortran file: its simulate function, with the ABI's C signature, and simbi_fortran_factory(),
! which registers it. simbi_add_plugin() compiles this module and simbi_fortran.c into the
! plugin with it.
!
!   function my_simulate(self, n, theta, seed, row_offset, x, valid, err) bind(C) result(status)
!     ! theta(param_dim, n) read-only, x(output_dim, n) and valid(n) written; row i draws from
!     ! its own generator: call simbi_rng_init(rng, seed, row_offset + i - 1).
!
!   function simbi_fortran_factory() bind(C, name="simbi_fortran_factory") result(factory)
!     type(c_ptr) :: factory
!     if (.not. simbi_has_plugins()) call simbi_add_simulator(id=..., simulate=c_funloc(my_simulate), ...)
!     factory = simbi_factory_pointer()
!
! Ownership and threads are the C ABI's (simbi/simulator.h): theta, x and valid belong to the
! host and live for the call; simulate is called from several threads at once on one instance
! (thread_safety SIMBI_THREAD_SHARED) unless the plugin registers SIMBI_THREAD_INSTANCE.
module simbi
  use, intrinsic :: iso_c_binding
  implicit none
  private

  ! Status codes and kinds (simbi/types.h), the ABI version (simbi/version.h).
  integer(c_int32_t), parameter, public :: SIMBI_OK = 0, SIMBI_DISCARD = 1, SIMBI_ERROR = 2, SIMBI_FATAL = 3
  integer(c_int32_t), parameter, public :: SIMBI_KIND_SIMULATOR = 1
  integer(c_int32_t), parameter, public :: SIMBI_THREAD_INSTANCE = 0, SIMBI_THREAD_SHARED = 1

  ! simbi/rng.h's generator: Philox4x32-10, one stream per (seed, row).
  type, bind(C), public :: simbi_rng
    integer(c_int32_t) :: key(2), counter(4), block(4), used, has_spare
    real(c_double) :: spare
  end type

  ! simbi/descriptor.h, as of ABI 1.2 (frozen).
  type, bind(C), public :: simbi_descriptor
    integer(c_int64_t) :: size
    type(c_ptr) :: id, name, version, vendor, description
    integer(c_int32_t) :: kind, thread_safety
    integer(c_int64_t) :: param_dim
    type(c_ptr) :: param_names
    integer(c_int64_t) :: output_dim, output_rank
    type(c_ptr) :: output_shape, default_prior_json, config_schema_json, training_schema_json, output_support_json
    integer(c_int64_t) :: capabilities
  end type

  ! simbi/entry.h's factory and simbi/simulator.h's instance.
  type, bind(C), public :: simbi_factory
    integer(c_int64_t) :: size
    type(c_funptr) :: count, descriptor, create, get_extension
  end type

  type, bind(C), public :: simbi_simulator
    integer(c_int64_t) :: size
    type(c_ptr) :: data
    type(c_funptr) :: destroy, simulate
  end type

  ! The callable forms of the SDK's inline C (simbi_fortran.c).
  interface
    subroutine simbi_rng_init(rng, seed, row) bind(C, name="simbi_f_rng_init")
      import :: simbi_rng, c_int64_t
      type(simbi_rng), intent(inout) :: rng
      integer(c_int64_t), value :: seed, row
    end subroutine
    function simbi_rng_uniform(rng) bind(C, name="simbi_f_rng_uniform") result(u)
      import :: simbi_rng, c_double
      type(simbi_rng), intent(inout) :: rng
      real(c_double) :: u
    end function
    function simbi_rng_normal(rng) bind(C, name="simbi_f_rng_normal") result(z)
      import :: simbi_rng, c_double
      type(simbi_rng), intent(inout) :: rng
      real(c_double) :: z
    end function
    function simbi_rng_u64(rng) bind(C, name="simbi_f_rng_u64") result(u)
      import :: simbi_rng, c_int64_t
      type(simbi_rng), intent(inout) :: rng
      integer(c_int64_t) :: u
    end function
    function c_error_set(err, status, text) bind(C, name="simbi_f_error_set") result(st)
      import :: c_ptr, c_int32_t, c_char
      type(c_ptr), value :: err
      integer(c_int32_t), value :: status
      character(kind=c_char), intent(in) :: text(*)
      integer(c_int32_t) :: st
    end function
    function c_config_check(config, schema, err) bind(C, name="simbi_f_config_check") result(ok)
      import :: c_ptr, c_int
      type(c_ptr), value :: config, schema, err
      integer(c_int) :: ok
    end function
    function c_config_number(config, schema, key, value) bind(C, name="simbi_f_config_number") result(found)
      import :: c_ptr, c_char, c_double, c_int
      type(c_ptr), value :: config, schema
      character(kind=c_char), intent(in) :: key(*)
      real(c_double), intent(out) :: value
      integer(c_int) :: found
    end function
    function c_strlen(s) bind(C, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: n
    end function
    function c_strcmp(a, b) bind(C, name="strcmp") result(d)
      import :: c_ptr, c_int
      type(c_ptr), value :: a, b
      integer(c_int) :: d
    end function
  end interface

  public :: simbi_rng_init, simbi_rng_uniform, simbi_rng_normal, simbi_rng_u64
  public :: simbi_error_set, simbi_config_real, simbi_add_simulator, simbi_has_plugins, simbi_factory_pointer

  ! A C string whose address stays put for the library's life.
  type :: c_text
    character(kind=c_char), pointer :: chars(:) => null()
  end type

  ! One registered simulator: its descriptor and the storage it points into.
  type :: registered
    type(simbi_descriptor), pointer :: descriptor => null()
    type(c_text) :: id, name, version, vendor, description, prior, schema
    type(c_text), allocatable :: params(:)
    type(c_ptr), pointer :: param_ptrs(:) => null()
    type(c_funptr) :: simulate
  end type

  ! An instance: the C struct first, so that its address is the instance's; then its config.
  type :: instance
    type(simbi_simulator) :: c
    type(c_text) :: config, schema
  end type

  integer, parameter :: max_plugins = 16
  type(registered), target, save :: plugins(max_plugins)
  integer, save :: n_plugins = 0
  type(simbi_factory), target, save :: factory

contains

  function to_c(text) result(t)
    character(len=*), intent(in) :: text
    type(c_text) :: t
    integer :: i
    allocate(t%chars(len(text) + 1))
    do i = 1, len(text)
      t%chars(i) = text(i:i)
    end do
    t%chars(len(text) + 1) = c_null_char
  end function

  function from_c(p) result(text)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: text
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: text)
    do i = 1, n
      text(i:i) = chars(i)
    end do
  end function

  ! Sets err's status and message (caller-owned, may be c_null_ptr); returns the status.
  function simbi_error_set(err, status, message) result(st)
    type(c_ptr), value :: err
    integer(c_int32_t), intent(in) :: status
    character(len=*), intent(in) :: message
    integer(c_int32_t) :: st
    st = c_error_set(err, status, trim(message) // c_null_char)
  end function

  ! The number `key` of the instance's config, or the schema's default; .false. when neither
  ! holds a number (the host has checked the config against the schema before create).
  function simbi_config_real(self, key, value) result(found)
    type(c_ptr), value :: self
    character(len=*), intent(in) :: key
    real(c_double), intent(out) :: value
    logical :: found
    type(instance), pointer :: inst
    call c_f_pointer(self, inst)
    found = c_config_number(c_loc(inst%config%chars), c_loc(inst%schema%chars), trim(key) // c_null_char, value) == 1
  end function

  logical function simbi_has_plugins()
    simbi_has_plugins = n_plugins > 0
  end function

  ! Registers a simulator. param_names(param_dim) are trimmed; prior_json is simbi prior JSON;
  ! config_schema_json a JSON Schema object ("{}" for no settings); simulate = c_funloc of a
  ! function of the ABI's signature. Call from simbi_fortran_factory() only.
  subroutine simbi_add_simulator(id, name, version, description, param_names, output_dim, prior_json, simulate, &
                                 config_schema_json, vendor, thread_safety)
    character(len=*), intent(in) :: id, name, version, description, prior_json
    character(len=*), intent(in) :: param_names(:)
    integer, intent(in) :: output_dim
    type(c_funptr), value :: simulate
    character(len=*), intent(in), optional :: config_schema_json, vendor
    integer(c_int32_t), intent(in), optional :: thread_safety
    type(registered), pointer :: r
    integer :: i
    if (n_plugins == max_plugins) error stop "simbi: more than 16 plugins in one library"
    n_plugins = n_plugins + 1
    r => plugins(n_plugins)
    r%id = to_c(id)
    r%name = to_c(name)
    r%version = to_c(version)
    r%description = to_c(description)
    r%prior = to_c(prior_json)
    r%vendor = to_c("")
    if (present(vendor)) r%vendor = to_c(vendor)
    r%schema = to_c('{"type": "object", "additionalProperties": false, "properties": {}}')
    if (present(config_schema_json)) r%schema = to_c(config_schema_json)
    allocate(r%params(size(param_names)), r%param_ptrs(size(param_names)))
    do i = 1, size(param_names)
      r%params(i) = to_c(trim(param_names(i)))
      r%param_ptrs(i) = c_loc(r%params(i)%chars)
    end do
    r%simulate = simulate
    allocate(r%descriptor)
    r%descriptor%size = c_sizeof(r%descriptor)
    r%descriptor%id = c_loc(r%id%chars)
    r%descriptor%name = c_loc(r%name%chars)
    r%descriptor%version = c_loc(r%version%chars)
    r%descriptor%vendor = c_loc(r%vendor%chars)
    r%descriptor%description = c_loc(r%description%chars)
    r%descriptor%kind = SIMBI_KIND_SIMULATOR
    r%descriptor%thread_safety = SIMBI_THREAD_SHARED
    if (present(thread_safety)) r%descriptor%thread_safety = thread_safety
    r%descriptor%param_dim = size(param_names)
    r%descriptor%param_names = c_loc(r%param_ptrs)
    r%descriptor%output_dim = output_dim
    r%descriptor%output_rank = 0
    r%descriptor%output_shape = c_null_ptr
    r%descriptor%default_prior_json = c_loc(r%prior%chars)
    r%descriptor%config_schema_json = c_loc(r%schema%chars)
    r%descriptor%training_schema_json = c_null_ptr
    r%descriptor%output_support_json = c_null_ptr
    r%descriptor%capabilities = 0
  end subroutine

  ! The library's factory, for simbi_fortran_factory() to return.
  function simbi_factory_pointer() result(p)
    type(c_ptr) :: p
    factory%size = c_sizeof(factory)
    factory%count = c_funloc(factory_count)
    factory%descriptor = c_funloc(factory_descriptor)
    factory%create = c_funloc(factory_create)
    factory%get_extension = c_null_funptr
    p = c_loc(factory)
  end function

  function factory_count(self) bind(C) result(n)
    type(c_ptr), value :: self
    integer(c_int64_t) :: n
    n = n_plugins
  end function

  function factory_descriptor(self, index) bind(C) result(d)
    type(c_ptr), value :: self
    integer(c_int64_t), value :: index
    type(c_ptr) :: d
    d = c_null_ptr
    if (index >= 0 .and. index < n_plugins) d = c_loc(plugins(index + 1)%descriptor)
  end function

  ! A new instance of plugin `id`, its config checked against the schema; NULL with err set.
  function factory_create(self, host, id, config_json, err) bind(C) result(p)
    type(c_ptr), value :: self, host, id, config_json, err
    type(c_ptr) :: p
    type(instance), pointer :: inst
    integer :: i, st
    character(len=:), allocatable :: config
    p = c_null_ptr
    do i = 1, n_plugins
      if (c_strcmp(id, c_loc(plugins(i)%id%chars)) /= 0) cycle
      config = "{}"
      if (c_associated(config_json)) config = from_c(config_json)
      allocate(inst)
      inst%config = to_c(config)
      inst%schema = plugins(i)%schema
      if (c_config_check(c_loc(inst%config%chars), c_loc(inst%schema%chars), err) /= 1) then
        deallocate(inst%config%chars)
        deallocate(inst)
        return
      end if
      inst%c%size = c_sizeof(inst%c)
      inst%c%data = c_null_ptr
      inst%c%destroy = c_funloc(instance_destroy)
      inst%c%simulate = plugins(i)%simulate
      p = c_loc(inst)
      return
    end do
    st = simbi_error_set(err, SIMBI_ERROR, "unknown plugin id")
  end function

  subroutine instance_destroy(self) bind(C)
    type(c_ptr), value :: self
    type(instance), pointer :: inst
    call c_f_pointer(self, inst)
    deallocate(inst%config%chars)
    deallocate(inst)
  end subroutine

end module simbi
