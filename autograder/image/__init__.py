"""The sandbox image: one Docker image for every exercise, built from templates/docker/."""

from autograder.image.build import BuildReport, build_image
from autograder.image.context import (
    DEFAULT_BASE_IMAGE,
    IMAGE_REPOSITORY,
    LABEL_PREFIX,
    ImageSpec,
    assemble_context,
    default_image,
    sandbox_sources_hash,
)
from autograder.image.info import ImageInfo, describe_image

__all__ = ["DEFAULT_BASE_IMAGE", "IMAGE_REPOSITORY", "LABEL_PREFIX", "BuildReport",
           "ImageInfo", "ImageSpec", "assemble_context", "build_image", "default_image",
           "describe_image", "sandbox_sources_hash"]
