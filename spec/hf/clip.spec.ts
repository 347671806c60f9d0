// HF CLIP vision tower + projection (TFCLIPModel.get_image_features) through the real
// tensorflowjs_converter: pre-LayerNorm before the first block, quick-GELU, a rank-2 position
// table, residual-first attention Add.
import { describeHfFixture } from './hf_fixture';

describeHfFixture('clip-small', { architecture: 'clip', protectedTokens: 1, tokenCount: 65, blocks: 4 });
