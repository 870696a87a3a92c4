"""The notes' tensor and autograd claims, pinned (lit_basics.tour and `lit-basics tour`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lit_basics import tour
from lit_basics.cli import cli_main


def test_from_numpy_shares_memory_and_Tensor_copies_as_float32():  # noqa: N802
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    shared, copied = torch.from_numpy(array), torch.Tensor(array)
    array[0, 0] = 42.0
    assert shared[0, 0].item() == 42.0
    assert copied[0, 0].item() == 0.0
    assert shared.dtype == torch.float64
    assert copied.dtype == torch.float32
    values = tour.tensor_numpy_bridge().values
    assert values["from_numpy_shares_memory"] is True
    assert values["Tensor_shares_memory"] is False
    assert values["Tensor_dtype"] == torch.float32


def test_type_converts_dtype_on_cpu():
    values = tour.tensor_to_gpu().values
    assert values["cpu_type_DoubleTensor_dtype"] == torch.float64
    assert values["cpu_type_string"] == "torch.DoubleTensor"


def test_gpu_section_says_it_was_skipped_without_a_gpu():
    section = tour.tensor_to_gpu()
    if torch.cuda.is_available():
        assert section.skipped is None
    else:
        assert section.skipped is not None
        assert "skipped" in section.skipped


@pytest.mark.gpu
def test_type_cuda_float_converts_and_cuda_keeps_dtype():
    values = tour.tensor_to_gpu().values
    assert values["type_cuda_FloatTensor_dtype"] == torch.float32
    assert values["type_cuda_FloatTensor_device"].startswith("cuda")
    assert values["cuda_keeps_dtype"] == torch.float64
    assert values["back_on_cpu"] == "cpu"


def test_attributes():
    values = tour.tensor_attributes().values
    assert values["shape"] == values["size"] == (10, 20)
    assert values["type"] == "torch.FloatTensor"
    assert values["dim"] == 2
    assert values["numel"] == 200


def test_shapes_of_the_shape_operations():
    values = tour.tensor_operations().values
    assert values["unsqueeze(0)"] == (1, 4, 3)
    assert values["squeeze(0)"] == (4, 3)
    assert values["squeeze()"] == (4, 3)
    assert values["permute(1, 0, 2)"] == (4, 1, 3)
    assert values["transpose(0, 2)"] == (3, 1, 4)
    assert values["view(-1, 5)"] == (12, 5)
    assert values["max_dim1_shapes"] == ((4,), (4,))
    assert values["long_dtype"] == torch.int64


def test_in_place_ops_end_in_underscore():
    values = tour.tensor_operations().values
    assert values["add_returns_new_tensor"] is True
    assert values["add__returns_same_tensor"] is True
    assert values["unsqueeze_then_transpose_"] == (3, 1, 4)
    in_place = [name for name in dir(torch.Tensor) if name in ("add_", "unsqueeze_", "transpose_", "mul_")]
    assert all(name.endswith("_") and hasattr(torch.Tensor, name[:-1]) for name in in_place)


def test_sum_gradient_is_ones():
    values = tour.tensors_with_grad().values
    assert values["x.grad_all_ones"]
    assert values["y.grad_all_ones"]
    assert values["z.grad_fn"] == "SumBackward0"


def test_simple_case_gradient_is_8():
    assert tour.autograd_simple().values["x.grad"] == [8.0]


def test_complex_case_gradient():
    assert tour.autograd_complex().values["m.grad"] == [[4.0, 27.0]]


def test_retain_graph_accumulates_8_then_16():
    values = tour.autograd_retain_graph().values
    assert values["after_first_backward"] == [8.0]
    assert values["after_second_backward"] == [16.0]


def test_exercise_jacobian():
    values = tour.autograd_exercise().values
    assert values["jacobian"] == [[4.0, 3.0], [2.0, 6.0]]
    assert values["equals_torch_autograd_functional_jacobian"] is True


@pytest.mark.parametrize("seed", range(5))
def test_jacobian_by_backward_matches_torch(seed):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(4, 3, generator=generator, dtype=torch.float64)

    def f(x):
        return torch.tanh(a @ x) * x.sum() + x[0] ** 3

    x = torch.randn(3, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(tour.jacobian_by_backward(f, x), torch.autograd.functional.jacobian(f, x))


def test_jacobian_by_backward_rejects_non_vectors():
    with pytest.raises(ValueError, match="x must be 1-D"):
        tour.jacobian_by_backward(lambda x: x, torch.zeros(2, 2))


def test_tour_command_prints_every_section(capsys):
    assert cli_main(["tour"]) is None
    out = capsys.readouterr().out
    for number, make in enumerate(tour.sections(), start=1):
        assert f"{number}. {make().title}" in out
    assert "jacobian: [[4.0, 3.0], [2.0, 6.0]]" in out
    assert "after_second_backward: [16.0]" in out
    if not torch.cuda.is_available():
        assert "skipped: no CUDA device here" in out
