"""StyleGAN2(-ADA) networks with the official parameter layout: generator (mapping + synthesis) and discriminator."""

from gan2d.nets.stylegan2.config import DiscriminatorConfig, GeneratorConfig
from gan2d.nets.stylegan2.discriminator import Discriminator
from gan2d.nets.stylegan2.generator import Generator
from gan2d.nets.stylegan2.mapping import MappingNetwork
from gan2d.nets.stylegan2.synthesis import SynthesisNetwork
from gan2d.nets.stylegan2.view_mapping import ViewConditionedMapping

__all__ = ["Discriminator", "DiscriminatorConfig", "Generator", "GeneratorConfig", "MappingNetwork", "SynthesisNetwork",
           "ViewConditionedMapping"]
