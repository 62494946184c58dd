! The same 10^4 draws as rng_stream.c, through the Fortran module.
program rng_stream
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: int64
  use simbi
  implicit none
  type(simbi_rng) :: rng
  integer(c_int64_t) :: row
  integer :: i
  do row = 0, 99
    call simbi_rng_init(rng, 42_c_int64_t, row)
    do i = 1, 25
      call print_bits(transfer(simbi_rng_uniform(rng), 0_int64))
    end do
    do i = 1, 25
      call print_bits(transfer(simbi_rng_normal(rng), 0_int64))
    end do
    do i = 1, 25
      call print_bits(simbi_rng_u64(rng))
    end do
    do i = 1, 25
      call print_bits(transfer(simbi_rng_uniform(rng), 0_int64))
    end do
  end do
contains
  subroutine print_bits(bits)
    integer(int64), intent(in) :: bits
    write (*, '(z16.16)') bits
  end subroutine
end program

! A program has no plugins; the SDK's C half asks for a factory only when loaded as a plugin.
function simbi_fortran_factory() bind(C, name="simbi_fortran_factory") result(factory)
  use, intrinsic :: iso_c_binding
  implicit none
  type(c_ptr) :: factory
  factory = c_null_ptr
end function
