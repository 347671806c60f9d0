// Official Turbo parity for the embedded model, converted from safetensors by our converter.
import { embeddedModelDir } from '../../src/convert';
import { describeVitTinyParity } from '../helpers/vit_tiny_parity';

describeVitTinyParity('our safetensors converter', embeddedModelDir());
